import { stableId } from "../orders/events.ts";
import { bucketOf, dayPartition } from "../store/keys.ts";
import type { StoreOp } from "../store/store.ts";

export type DeliveryStatus = "pending" | "dead" | "delivered" | "discarded";

/** The outcome of one attempt, as kept in a delivery's history. */
export interface AttemptRecord {
  attempt: number;
  at: number;
  durationMs: number;
  outcome: "delivered" | "transient" | "permanent";
  message?: string;
  status?: number;
}

/** The last failure of a delivery. */
export interface DeliveryError {
  at: number;
  message: string;
  status?: number;
  bodyExcerpt?: string;
}

/** One event on its way to one adapter of one restaurant. */
export interface DeliveryRecord {
  id: string;
  /** The same across every retry and replay; HTTP adapters send it as `Idempotency-Key`. */
  idempotencyKey: string;
  eventId: string;
  /** The `events` partition that contains the event. */
  eventPartition: string;
  eventType: string;
  restaurantId: string;
  adapter: string;
  orderId: string | null;
  /** The event's position among its order's events; deliveries of one order run in this order. */
  sequence: number;
  status: DeliveryStatus;
  attempts: number;
  /** Epoch milliseconds of the next attempt, for pending deliveries. */
  nextAttemptAt: number;
  createdAt: number;
  updatedAt: number;
  lastError: DeliveryError | null;
  /** The latest attempts, newest last (at most `HISTORY_LIMIT`). */
  history: AttemptRecord[];
  /** Reason the delivery is dead or discarded. */
  reason: string | null;
  deliveredAt: number | null;
}

/** Attempts kept in a delivery's history. */
export const HISTORY_LIMIT = 20;

/** Builds a new pending delivery of an event to one adapter. */
export function newDelivery(input: {
  eventId: string;
  eventPartition: string;
  eventType: string;
  restaurantId: string;
  adapter: string;
  orderId: string | null;
  sequence: number;
  now: number;
}): DeliveryRecord {
  const id = stableId("dlv", input.eventId, input.restaurantId, input.adapter);
  return {
    id,
    idempotencyKey: id,
    eventId: input.eventId,
    eventPartition: input.eventPartition,
    eventType: input.eventType,
    restaurantId: input.restaurantId,
    adapter: input.adapter,
    orderId: input.orderId,
    sequence: input.sequence,
    status: "pending",
    attempts: 0,
    nextAttemptAt: input.now,
    createdAt: input.now,
    updatedAt: input.now,
    lastError: null,
    history: [],
    reason: null,
    deliveredAt: null,
  };
}

/** Returns the outbox partition of a pending or dead delivery. */
export function outboxPartition(deliveryId: string): string {
  return bucketOf(deliveryId);
}

/** Returns the partition of a finished (delivered or discarded) delivery: its UTC day and bucket. */
export function finishedPartition(record: DeliveryRecord): string {
  return `${dayPartition(record.updatedAt)}.${bucketOf(record.id)}`;
}

/**
 * Returns the store changes that save a delivery. Open ones (pending, dead) live in the
 * outbox, which is always in memory. Finished ones move to the `delivered` table, kept by day
 * for pruning.
 */
export function saveDeliveryOps(record: DeliveryRecord): StoreOp[] {
  const outbox = {
    table: "outbox" as const,
    partition: outboxPartition(record.id),
    key: record.id,
  };
  if (record.status === "pending" || record.status === "dead") {
    return [{ ...outbox, value: record }];
  }
  return [
    outbox,
    {
      table: "delivered",
      partition: finishedPartition(record),
      key: record.id,
      value: record,
    },
  ];
}
