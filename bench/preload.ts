import type { BbotWebhook } from "../src/bbot/payload.ts";
import { validateWebhook } from "../src/bbot/payload.ts";
import type { RestaurantConfig } from "../src/config/schema.ts";
import type { DeliveryPlanner } from "../src/orders/ingest.ts";
import { OrderIngestor } from "../src/orders/ingest.ts";
import { FileStore } from "../src/store/store.ts";
import { checkedBenchConfig } from "./config.ts";
import { SnapshotFactory, STAGES_PER_ORDER } from "./payloads.ts";

/** Figures of one preload: orders written, business dates used and duration. */
export interface PreloadResult {
  orders: number;
  days: number;
  durationMs: number;
}

/** Orders ingested at the same time during a preload; their commits share journal flushes. */
const PRELOAD_CONCURRENCY = 1000;

/** Plans no deliveries: history orders were delivered long ago. */
const noDeliveries: DeliveryPlanner = {
  plan: () => [],
  committed: () => undefined,
};

/**
 * Fills a data folder with `orders` past orders spread evenly over `days` business dates
 * before today, each placed and then closed with a refund, through the same ingest code the
 * service uses. A clock set to each order's time puts its events on that order's day.
 * Partitions are compacted and leave memory after each day, so the preload's memory use
 * stays at one day's worth.
 */
export async function preloadHistory(
  dataDir: string,
  orders: number,
  days: number,
  runId: string,
): Promise<PreloadResult> {
  const started = performance.now();
  const config = checkedBenchConfig(dataDir);
  const restaurant = config.restaurants[0]!;
  const factory = new SnapshotFactory(runId);

  let now = 0;
  const clock = { now: () => now };
  const store = new FileStore({
    dataDir,
    compactIntervalMs: 3_600_000,
    journalMaxBytes: 256 * 1024 * 1024,
    partitionIdleMs: 0,
    clock,
  });
  await store.open();
  const ingestor = new OrderIngestor(store, noDeliveries, clock);

  const today = Date.now();
  const perDay = Math.ceil(orders / days);
  for (let day = 0; day < days; day += 1) {
    // Dinner service: 18:00 to 22:00 in New York, counted back from today.
    const dinner = startOfDinner(today, days - day);
    const first = day * perDay;
    const last = Math.min(orders, first + perDay);
    for (let batch = first; batch < last; batch += PRELOAD_CONCURRENCY) {
      const end = Math.min(last, batch + PRELOAD_CONCURRENCY);
      for (const stage of [0, STAGES_PER_ORDER - 1]) {
        const work: Promise<unknown>[] = [];
        for (let index = batch; index < end; index += 1) {
          const placedAt = dinner + ((index - first) * 4 * 3_600_000) / perDay;
          now = placedAt + (stage + 1) * 600_000;
          const body = factory.body(index, stage, placedAt);
          const payload = index === 0 ? validated(body) : parsed(body);
          work.push(ingestor.ingest(payload, restaurant as RestaurantConfig));
        }
        await Promise.all(work);
      }
    }
    await store.compact();
  }
  await store.close();

  return { orders, days, durationMs: performance.now() - started };
}

function startOfDinner(today: number, daysBack: number): number {
  const day = new Date(today - daysBack * 86_400_000);
  // 23:00 UTC is 18:00 in New York in winter and 19:00 in summer; either is dinner time.
  return Date.UTC(
    day.getUTCFullYear(),
    day.getUTCMonth(),
    day.getUTCDate(),
    23,
  );
}

/**
 * Parses a snapshot without the schema check. Every bench snapshot comes from the same
 * templates, the first of each stage is checked, and the check costs more than the ingest.
 */
function parsed(body: string): BbotWebhook {
  return JSON.parse(body) as BbotWebhook;
}

function validated(body: string): BbotWebhook {
  const checked = validateWebhook(JSON.parse(body));
  if (!checked.ok) {
    throw new Error(
      `bench snapshot failed validation: ${JSON.stringify(checked.problems)}`,
    );
  }
  return checked.payload;
}
