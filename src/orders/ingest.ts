import { createHash } from "node:crypto";

import { businessDateOf } from "../bbot/business-date.ts";
import { mapOrder } from "../bbot/map.ts";
import type { BbotWebhook } from "../bbot/payload.ts";
import { compareTimestamps } from "../bbot/timestamps.ts";
import type { RestaurantConfig } from "../config/schema.ts";
import type { Clock } from "../delivery/contract.ts";
import { bucketOf, orderPartition } from "../store/keys.ts";
import { StoreCorruptError } from "../store/errors.ts";
import type { Store, StoreOp } from "../store/store.ts";
import { detectChanges } from "./diff.ts";
import { stableId, type OrderEvent } from "./events.ts";
import { KeyedLock } from "./keyed-lock.ts";
import {
  addComponents,
  ZERO_COMPONENTS,
  type CanonicalOrder,
  type ComponentCents,
} from "./model.ts";

/** A refund booked on the business date it was detected. */
export interface RefundEntry extends ComponentCents {
  eventId: string;
  detectedAt: string;
  detectedBusinessDate: string;
}

/** One snapshot received for an order. */
export interface HistoryEntry {
  revision: string;
  modifiedAt: string;
  receivedAt: string;
  outcome: "applied" | "stale";
  eventIds: string[];
  /** The snapshot itself, kept for stale ones because it never becomes the current state. */
  snapshot?: CanonicalOrder;
}

/** An order as the store keeps it: the current canonical order and what led to it. */
export interface StoredOrder {
  orderId: string;
  restaurantId: string;
  revision: string;
  current: CanonicalOrder;
  refunded: ComponentCents;
  refunds: RefundEntry[];
  eventCount: number;
  history: HistoryEntry[];
  firstSeenAt: string;
  updatedAt: string;
}

/** Outcome of one received snapshot. */
export type IngestOutcome = "created" | "updated" | "duplicate" | "stale";

export interface IngestResult {
  outcome: IngestOutcome;
  orderId: string;
  revision: string;
  events: OrderEvent[];
  warnings: string[];
}

/** Turns events into the outbox rows that deliver them, and hears about committed ones. */
export interface DeliveryPlanner {
  plan(events: readonly OrderEvent[], now: number): StoreOp[];
  committed(ops: readonly StoreOp[]): void;
}

/** Snapshots kept in an order's history; older entries are dropped first. */
const HISTORY_LIMIT = 100;

/**
 * Receives validated snapshots: compares each with the stored order, derives events and
 * commits the order, its events and their deliveries in one durable write.
 */
export class OrderIngestor {
  private readonly lock = new KeyedLock();

  constructor(
    private readonly store: Store,
    private readonly planner: DeliveryPlanner,
    private readonly clock: Clock,
  ) {}

  /** Processes one snapshot; resolves once everything it produced is on disk. */
  ingest(
    payload: BbotWebhook,
    restaurant: RestaurantConfig,
  ): Promise<IngestResult> {
    return this.lock.run(payload.order.id, () =>
      this.ingestLocked(payload, restaurant),
    );
  }

  /** Reads an order's stored state from the partition of its business date. */
  getOrder(
    orderId: string,
    businessDate: string,
  ): Promise<StoredOrder | undefined> {
    return this.store.get<StoredOrder>(
      "orders",
      orderPartition(businessDate, orderId),
      orderId,
    );
  }

  private async ingestLocked(
    payload: BbotWebhook,
    restaurant: RestaurantConfig,
  ): Promise<IngestResult> {
    const next = mapOrder(payload, restaurant);
    const revision = revisionOf(payload);
    const partition = orderPartition(next.businessDate, next.orderId);
    // NOTE: the partition comes from the order's placement time, which Bbot does not change.
    // A snapshot with a different `time` would be looked up in another partition.
    const stored = await this.store.get<StoredOrder>(
      "orders",
      partition,
      next.orderId,
    );
    if (stored !== undefined && !isStoredOrder(stored)) {
      throw new StoreCorruptError(
        `orders/${partition}.json`,
        `the row of order ${next.orderId} is not a stored order`,
      );
    }
    const now = this.clock.now();
    const receivedAt = new Date(now).toISOString();
    const base = { orderId: next.orderId, revision, warnings: next.warnings };

    if (stored?.revision === revision)
      return { ...base, outcome: "duplicate", events: [] };

    if (
      stored &&
      compareTimestamps(next.modifiedAt, stored.current.modifiedAt) < 0
    ) {
      const known = stored.history.some((entry) => entry.revision === revision);
      if (known) return { ...base, outcome: "duplicate", events: [] };

      const entry: HistoryEntry = {
        revision,
        modifiedAt: next.modifiedAt,
        receivedAt,
        outcome: "stale",
        eventIds: [],
        snapshot: next,
      };
      const updated = {
        ...stored,
        history: trimHistory([...stored.history, entry]),
        updatedAt: receivedAt,
      };
      await this.store.commit([
        { table: "orders", partition, key: next.orderId, value: updated },
      ]);
      return { ...base, outcome: "stale", events: [] };
    }

    const detectedBusinessDate = businessDateOf(
      now,
      restaurant.timeZone,
      restaurant.businessDayCutoffHour,
    );
    const changes = detectChanges(
      stored?.current,
      next,
      stored?.refunded ?? ZERO_COMPONENTS,
    );
    const firstSequence = (stored?.eventCount ?? 0) + 1;
    const events: OrderEvent[] = changes.map(
      (change, index) =>
        ({
          id: stableId(
            "evt",
            next.orderId,
            revision,
            change.type,
            change.subject,
          ),
          type: change.type,
          restaurantId: restaurant.id,
          orderId: next.orderId,
          revision,
          sequence: firstSequence + index,
          occurredAt: next.modifiedAt,
          detectedAt: receivedAt,
          detectedBusinessDate,
          order: next,
          change: change.change,
        }) as OrderEvent,
    );

    const order = nextStoredOrder(stored, next, revision, events, receivedAt);
    const ops: StoreOp[] = [
      { table: "orders", partition, key: next.orderId, value: order },
      ...events.map((event) => ({
        table: "events" as const,
        partition: eventPartitionOf(event),
        key: event.id,
        value: event,
      })),
      ...this.planner.plan(events, now),
    ];

    await this.store.commit(ops);
    this.planner.committed(ops);
    return { ...base, outcome: stored ? "updated" : "created", events };
  }
}

/** Returns the partition of the `events` table that contains an event. */
export function eventPartitionOf(event: {
  detectedBusinessDate: string;
  orderId: string | null;
  id: string;
}): string {
  return `${event.detectedBusinessDate}.${bucketOf(event.orderId ?? event.id)}`;
}

/**
 * Returns a snapshot's revision: Bbot's `last_modified` at full precision plus a digest of the order,
 * so two different snapshots that share a `last_modified` still count as two revisions.
 */
function revisionOf(payload: BbotWebhook): string {
  const digest = createHash("sha256")
    .update(JSON.stringify(payload.order))
    .digest("base64url");
  return `${payload.order.last_modified}#${digest.slice(0, 12)}`;
}

function nextStoredOrder(
  stored: StoredOrder | undefined,
  next: CanonicalOrder,
  revision: string,
  events: readonly OrderEvent[],
  receivedAt: string,
): StoredOrder {
  let refunded = stored?.refunded ?? ZERO_COMPONENTS;
  const refunds = [...(stored?.refunds ?? [])];
  for (const event of events) {
    if (event.type !== "order.refunded") continue;
    const change = (event as OrderEvent<"order.refunded">).change;
    const amount: ComponentCents = {
      pretaxCents: change.pretaxCents,
      taxCents: change.taxCents,
      tipCents: change.tipCents,
      feeCents: change.feeCents,
    };
    refunded = addComponents(refunded, amount);
    refunds.push({
      ...amount,
      eventId: event.id,
      detectedAt: event.detectedAt,
      detectedBusinessDate: event.detectedBusinessDate,
    });
  }

  const entry: HistoryEntry = {
    revision,
    modifiedAt: next.modifiedAt,
    receivedAt,
    outcome: "applied",
    eventIds: events.map((event) => event.id),
  };

  return {
    orderId: next.orderId,
    restaurantId: next.restaurantId,
    revision,
    current: next,
    refunded,
    refunds,
    eventCount: (stored?.eventCount ?? 0) + events.length,
    history: trimHistory([...(stored?.history ?? []), entry]),
    firstSeenAt: stored?.firstSeenAt ?? receivedAt,
    updatedAt: receivedAt,
  };
}

/** Checks the fields ingest relies on, so a damaged row fails as a store error, not a crash. */
function isStoredOrder(value: unknown): value is StoredOrder {
  const row = value as Partial<StoredOrder> | null;
  return (
    typeof row === "object" &&
    row !== null &&
    typeof row.revision === "string" &&
    typeof row.current?.modifiedAt === "string" &&
    Array.isArray(row.current.items) &&
    Array.isArray(row.history) &&
    typeof row.refunded === "object"
  );
}

function trimHistory(history: HistoryEntry[]): HistoryEntry[] {
  return history.length > HISTORY_LIMIT
    ? history.slice(-HISTORY_LIMIT)
    : history;
}
