import { createHash } from "node:crypto";

import type { CanonicalOrder, ComponentCents, OrderItem } from "./model.ts";

/** Event types produced by change detection: the public contract adapters subscribe to. */
export const ORDER_EVENT_TYPES = [
  "order.created",
  "order.item_status_changed",
  "order.status_changed",
  "order.items_changed",
  "order.refunded",
  "order.tip_changed",
  "order.closed",
  "order.reopened",
  "order.updated",
] as const;

/** Event types the service produces about itself rather than about an order's snapshot. */
export const SERVICE_EVENT_TYPES = [
  "delivery.dead_lettered",
  "export.journal_entry",
] as const;

export const EVENT_TYPES = [
  ...ORDER_EVENT_TYPES,
  ...SERVICE_EVENT_TYPES,
] as const;

export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];
export type EventType = (typeof EVENT_TYPES)[number];

export interface ItemStatusChange {
  itemId: string;
  name: string;
  from: string;
  to: string;
}

export interface StageChange {
  from: string;
  to: string;
}

export interface ItemsChange {
  added: OrderItem[];
  removed: OrderItem[];
  changed: { before: OrderItem; after: OrderItem }[];
}

/** Refunded amounts of one change, computed from the drop in cumulative totals. */
export interface RefundChange extends ComponentCents {
  totalCents: number;
  /** All refunds of the order so far, this one included. */
  cumulative: ComponentCents & { totalCents: number };
  /** Items that disappeared or moved to a refund status in this change. */
  items: OrderItem[];
}

export interface TipChange {
  fromCents: number;
  toCents: number;
}

export interface ClosedChange {
  closedAt: string;
}

export interface FieldsChange {
  fields: { field: string; from: unknown; to: unknown }[];
}

/** The change details carried by each order event type. */
export interface OrderChangeByType {
  "order.created": Record<string, never>;
  "order.item_status_changed": ItemStatusChange;
  "order.status_changed": StageChange;
  "order.items_changed": ItemsChange;
  "order.refunded": RefundChange;
  "order.tip_changed": TipChange;
  "order.closed": ClosedChange;
  "order.reopened": Record<string, never>;
  "order.updated": FieldsChange;
}

/** A change to one order, with the canonical order as it is after the change. */
export interface OrderEvent<T extends OrderEventType = OrderEventType> {
  /** Stable across replays: derived from the order, the revision and the change. */
  id: string;
  type: T;
  restaurantId: string;
  orderId: string;
  /** The snapshot revision that produced the event. */
  revision: string;
  /** The event's position among all events of its order, from 1. */
  sequence: number;
  /** Bbot's `last_modified` of the snapshot, microseconds kept. */
  occurredAt: string;
  /** When bbot-bridge received the snapshot. */
  detectedAt: string;
  /** The restaurant's business date of `detectedAt`, on which refunds are booked. */
  detectedBusinessDate: string;
  order: CanonicalOrder;
  change: OrderChangeByType[T];
}

/** A dead-lettered delivery, reported to the restaurant's other adapters (for example Slack). */
export interface DeadLetterEvent {
  id: string;
  type: "delivery.dead_lettered";
  restaurantId: string;
  orderId: string | null;
  occurredAt: string;
  detectedAt: string;
  detectedBusinessDate: string;
  change: {
    deliveryId: string;
    adapter: string;
    eventId: string;
    eventType: string;
    attempts: number;
    reason: string;
    /** The order's number of the day and table, so staff recognise it; null when unknown. */
    orderNumberToday: number | null;
    tableName: string | null;
  };
}

/** A journal entry produced by the nightly export, for adapters that post it onwards. */
export interface JournalEntryEvent {
  id: string;
  type: "export.journal_entry";
  restaurantId: string;
  orderId: null;
  occurredAt: string;
  detectedAt: string;
  detectedBusinessDate: string;
  change: { businessDate: string; revision: number; entry: unknown };
}

export type BridgeEvent = OrderEvent | DeadLetterEvent | JournalEntryEvent;

/** Derives a short stable id from its parts, so replays of the same change get the same id. */
export function stableId(prefix: string, ...parts: string[]): string {
  const digest = createHash("sha256")
    .update(parts.join("\u0000"))
    .digest("base64url");
  return `${prefix}_${digest.slice(0, 26)}`;
}

/** Tells whether a subscription list (event types or `*`) includes an event type. */
export function subscribes(
  subscription: readonly string[],
  type: string,
): boolean {
  return subscription.includes("*") || subscription.includes(type);
}
