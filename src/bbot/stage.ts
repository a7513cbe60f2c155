/**
 * Item statuses on Bbot's fulfillment path, from least to most advanced. Bbot documents only
 * `waiting` on the wire. The other spellings follow the stage names of Bbot's help pages:
 * Accepted by Staff, Preparing, Ready for Driver / Waiting for Delivery, En Route, Delivered.
 * Statuses outside this table are kept as data and never rejected.
 */
const STAGE_BY_STATUS: Record<string, string> = {
  waiting: "waiting",
  accepted: "accepted",
  accepted_by_staff: "accepted",
  preparing: "preparing",
  in_progress: "preparing",
  ready: "ready",
  ready_for_driver: "ready",
  ready_for_pickup: "ready",
  waiting_for_delivery: "ready",
  waiting_for_pickup: "ready",
  en_route: "en_route",
  out_for_delivery: "en_route",
  delivered: "delivered",
  picked_up: "delivered",
  completed: "delivered",
  fulfilled: "delivered",
};

const STAGE_RANK = [
  "waiting",
  "accepted",
  "preparing",
  "ready",
  "en_route",
  "delivered",
];

/** Lowercases a status and joins its words with `_`, so "Ready for Driver" reads as `ready_for_driver`. */
export function normalizeStatus(status: string): string {
  return status
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_|_$/g, "");
}

/** Tells whether an item status means the item was refunded, voided or cancelled. */
export function isRefundedStatus(status: string): boolean {
  return /refund|void|cancel/.test(normalizeStatus(status));
}

/**
 * Derives an order's overall stage from its items: the least advanced known stage among the
 * items still standing. Items refunded or cancelled do not hold the order back. When no item
 * has a known status, the stage is the items' shared status, or `mixed` when they differ.
 */
export function deriveStage(statuses: readonly string[]): string {
  const active = statuses.filter((status) => !isRefundedStatus(status));
  if (statuses.length === 0) return "empty";
  if (active.length === 0) return "refunded";

  let lowest = Number.POSITIVE_INFINITY;
  for (const status of active) {
    const stage = STAGE_BY_STATUS[normalizeStatus(status)];
    if (stage !== undefined)
      lowest = Math.min(lowest, STAGE_RANK.indexOf(stage));
  }
  if (lowest !== Number.POSITIVE_INFINITY) return STAGE_RANK[lowest]!;

  const distinct = new Set(active.map(normalizeStatus));
  return distinct.size === 1 ? [...distinct][0]! : "mixed";
}
