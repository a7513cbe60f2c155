import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const LIFECYCLE_DIR = fileURLToPath(
  new URL("../../test/fixtures/lifecycle/", import.meta.url),
);

/** The sample order's id, replaced by a fresh id in each generated order. */
const SAMPLE_ORDER_ID = "bc960165-aa17-4506-abdc-0b1c26e44ff9";

/** ISO timestamps of the fixtures, with Bbot's microseconds; `1900-…` placeholders do not match. */
const TIMESTAMP = /"(20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z"/g;

/** The stage a webhook of the dinner script moves an order to. */
export type DinnerStep =
  | "placed"
  | "accepted"
  | "ready"
  | "delivered"
  | "refund"
  | "closed"
  | "resent";

/** One webhook body of the dinner script, with what it does to which order. */
export interface DinnerWebhook {
  step: DinnerStep;
  orderId: string;
  body: string;
}

/** The dinner service: webhooks in the order a restaurant's evening would send them. */
export interface DinnerScript {
  orderIds: string[];
  /** Orders that get a partial refund before they close. */
  refundedOrderIds: string[];
  /** Webhooks until every order is delivered to its table; the failing destination is down meanwhile. */
  rush: DinnerWebhook[];
  /** Refunds, closes and one resent webhook, after the destination has recovered. */
  closing: DinnerWebhook[];
}

/** Options of `dinnerScript`. */
export interface DinnerOptions {
  /** Orders in the service. Default 24. */
  orders?: number;
  /** Orders, from the first, that get a partial refund. Default 2. */
  refunds?: number;
  /** When the first order is placed, in epoch milliseconds. Default two hours ago. */
  startAt?: number;
  /** Minutes between two orders being placed. Default 3. */
  spacingMinutes?: number;
}

/**
 * Builds a dinner service from the sample order's lifecycle: each order is the sample with its
 * own id, order number and times, placed a few minutes after the previous one. Every order is
 * accepted, made ready and delivered; some get the sample's partial refund; all close.
 */
export function dinnerScript(options: DinnerOptions = {}): DinnerScript {
  const count = options.orders ?? 24;
  const refunds = Math.min(options.refunds ?? 2, count);
  const spacingMs = Math.round((options.spacingMinutes ?? 3) * 60) * 1000;
  const startAt = options.startAt ?? Date.now() - 2 * 60 * 60 * 1000;

  const templates = readTemplates();
  const firstPlaced = Date.parse(
    (JSON.parse(templates.placed) as { order: { time: string } }).order.time,
  );

  const orders = Array.from({ length: count }, (_unused, index) => {
    const orderId = demoOrderId(index);
    // Whole seconds, so each timestamp keeps its own microseconds.
    const shiftMs =
      Math.round((startAt - firstPlaced) / 1000) * 1000 + index * spacingMs;
    const make = (template: string) =>
      personalize(template, orderId, 300 + index, shiftMs);
    return { orderId, index, make };
  });

  const rush: DinnerWebhook[] = [];
  for (const step of ["placed", "accepted", "ready", "delivered"] as const) {
    for (const order of orders) {
      rush.push({
        step,
        orderId: order.orderId,
        body: order.make(templates[step]),
      });
    }
  }

  const closing: DinnerWebhook[] = [];
  for (const order of orders) {
    const refunded = order.index < refunds;
    if (refunded) {
      closing.push({
        step: "refund",
        orderId: order.orderId,
        body: order.make(templates.refund),
      });
    }
    closing.push({
      step: "closed",
      orderId: order.orderId,
      body: order.make(
        refunded ? templates.closedAfterRefund : templates.closed,
      ),
    });
  }
  // Bbot sends a webhook again when it did not get the response, so the service gets a duplicate.
  const last = closing.at(-1)!;
  closing.push({ ...last, step: "resent" });

  return {
    orderIds: orders.map((order) => order.orderId),
    refundedOrderIds: orders
      .filter((order) => order.index < refunds)
      .map((order) => order.orderId),
    rush,
    closing,
  };
}

/** Derives a stable order id, shaped like Bbot's UUIDs, for the demo's order number `index`. */
export function demoOrderId(index: number): string {
  const hex = createHash("sha256")
    .update(`bbot-bridge demo order ${index}`)
    .digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

interface Templates {
  placed: string;
  accepted: string;
  ready: string;
  delivered: string;
  refund: string;
  closedAfterRefund: string;
  /** The delivered snapshot, closed at the time the refunded sample closed. */
  closed: string;
}

function readTemplates(): Templates {
  const read = (name: string) =>
    readFileSync(`${LIFECYCLE_DIR}${name}`, "utf8");
  const delivered = read("04-delivered.json");
  const closedAfterRefund = read("06-closed.json");

  const closedAt = (
    JSON.parse(closedAfterRefund) as { order: { time_closed: string } }
  ).order.time_closed;
  const closed = JSON.parse(delivered) as {
    order: { time_closed: string | null; last_modified: string };
  };
  closed.order.time_closed = closedAt;
  closed.order.last_modified = closedAt;

  return {
    placed: read("01-placed.json"),
    accepted: read("02-accepted.json"),
    ready: read("03-ready-for-driver.json"),
    delivered,
    refund: read("05-partial-refund.json"),
    closedAfterRefund,
    closed: JSON.stringify(closed),
  };
}

/** Gives a template snapshot its own order id, order number and times moved by `shiftMs`. */
function personalize(
  template: string,
  orderId: string,
  orderNumber: number,
  shiftMs: number,
): string {
  const shifted = template
    .replaceAll(SAMPLE_ORDER_ID, orderId)
    .replace(TIMESTAMP, (_match, seconds: string, fraction = "") => {
      const moved = new Date(Date.parse(`${seconds}Z`) + shiftMs);
      const whole = moved.toISOString().slice(0, 19);
      return `"${whole}${fraction}Z"`;
    });
  const body = JSON.parse(shifted) as {
    order: { orderNumberToday?: number };
  };
  body.order.orderNumberToday = orderNumber;
  return JSON.stringify(body);
}
