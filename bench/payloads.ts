import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The lifecycle snapshots a bench order goes through: placed, accepted, delivered, closed with a refund. */
const STAGE_FILES = [
  "01-placed.json",
  "02-accepted.json",
  "04-delivered.json",
  "06-closed.json",
];

const FIXTURE_ORDER_ID = "bc960165-aa17-4506-abdc-0b1c26e44ff9";
const FIXTURE_ITEM_IDS = [
  "bc961912-26c0-43ef-b3f3-af6bbce9a3e9",
  "bc9625cf-ecac-4511-b932-269ac23848ee",
];
const FIXTURE_PLACED_AT = "2021-12-08T00:53:52.057350Z";

/** Bbot's restaurant id in the sample and the bench config. */
export const BENCH_BBOT_RESTAURANT_ID = "ecde3351-606c-4971-ab5a-792bccb0e5e2";

/** Basic credentials of the bench restaurant. */
export const BENCH_USER = "bench";
export const BENCH_PASSWORD = "bench-password";

/** The `Authorization` header the bench sends with every webhook. */
export const BENCH_AUTHORIZATION = `Basic ${Buffer.from(`${BENCH_USER}:${BENCH_PASSWORD}`).toString("base64")}`;

/** Snapshots a bench order receives: the first creates it, the others are status changes. */
export const STAGES_PER_ORDER = STAGE_FILES.length;

interface StageTemplate {
  /** The fixture's JSON split at every id and timestamp that varies per order. */
  text: string;
  /** Seconds between placement and this snapshot's `last_modified`. */
  offsetSeconds: number;
  closed: boolean;
}

/**
 * Builds distinct Bbot webhook bodies from the lifecycle fixtures: each order gets its own
 * order id, item ids and times, and goes through the stages in order.
 */
export class SnapshotFactory {
  private readonly stages: StageTemplate[];

  /** `runId` keeps ids of separate runs on one data folder apart (eight hex digits). */
  constructor(private readonly runId: string) {
    if (!/^[0-9a-f]{8}$/.test(runId)) {
      throw new RangeError(`runId must be eight hex digits, not ${runId}`);
    }
    const dir = fileURLToPath(
      new URL("../test/fixtures/lifecycle/", import.meta.url),
    );
    const placedAt = Date.parse(FIXTURE_PLACED_AT);
    this.stages = STAGE_FILES.map((name) => {
      const text = readFileSync(`${dir}${name}`, "utf8");
      const parsed = JSON.parse(text) as {
        order: { last_modified: string; time_closed: string | null };
      };
      const compact = JSON.stringify(JSON.parse(text));
      return {
        text: compact,
        offsetSeconds: Math.round(
          (Date.parse(parsed.order.last_modified) - placedAt) / 1000,
        ),
        closed: parsed.order.time_closed !== null,
      };
    });
  }

  /** Returns the id of the `index`th order of this run, shaped like Bbot's UUIDs. */
  orderId(index: number): string {
    return `${this.runId}-0000-4000-8000-${index.toString(16).padStart(12, "0")}`;
  }

  /**
   * Builds the body of one snapshot of one order placed at `placedAtMs`. Later stages carry later
   * `last_modified` times, so they update the order rather than arrive stale.
   */
  body(index: number, stage: number, placedAtMs: number): string {
    const template = this.stages[stage];
    if (!template) throw new RangeError(`no stage ${stage}`);

    const orderId = this.orderId(index);
    const placed = new Date(placedAtMs).toISOString().replace("Z", "000Z");
    const modified = new Date(placedAtMs + template.offsetSeconds * 1000)
      .toISOString()
      .replace("Z", `${String(stage + 1).padStart(3, "0")}Z`);

    let text = template.text.replaceAll(FIXTURE_ORDER_ID, orderId);
    FIXTURE_ITEM_IDS.forEach((itemId, item) => {
      text = text.replaceAll(
        itemId,
        `${this.runId}-${item}000-4000-9000-${index.toString(16).padStart(12, "0")}`,
      );
    });
    text = text
      .replace(/"time":"[^"]*"/, `"time":"${placed}"`)
      .replace(/"last_modified":"[^"]*"/, `"last_modified":"${modified}"`);
    if (template.closed) {
      text = text.replace(
        /"time_closed":"[^"]*"/,
        `"time_closed":"${modified}"`,
      );
    }
    return text;
  }
}

/**
 * Returns the order and stage of the `sequence`th request of a load run. Requests cycle over a
 * window of `window` orders, so each order's snapshots arrive `window` requests apart and in
 * order, like status changes of many open tables, and a new order starts every
 * `STAGES_PER_ORDER` requests.
 */
export function requestAt(
  sequence: number,
  window: number,
): { order: number; stage: number } {
  const slot = sequence % window;
  const round = Math.floor(sequence / window);
  return {
    order: slot + window * Math.floor(round / STAGES_PER_ORDER),
    stage: round % STAGES_PER_ORDER,
  };
}

/** Creates a random run id of eight hex digits. */
export function newRunId(): string {
  return Math.floor(Math.random() * 0xffffffff)
    .toString(16)
    .padStart(8, "0");
}
