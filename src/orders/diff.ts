import { isRefundedStatus } from "../bbot/stage.ts";
import type { OrderChangeByType, OrderEventType } from "./events.ts";
import {
  addComponents,
  totalOf,
  type CanonicalOrder,
  type ComponentCents,
  type OrderItem,
} from "./model.ts";

/** One detected change, before it becomes an event with an id and timestamps. */
export interface DetectedChange<T extends OrderEventType = OrderEventType> {
  type: T;
  /** Tells apart several changes of one type in one revision, such as one per item. */
  subject: string;
  change: OrderChangeByType[T];
}

type AnyChange = { [T in OrderEventType]: DetectedChange<T> }[OrderEventType];

/**
 * Compares a snapshot with the last one stored for the order and lists the changes in the
 * order adapters should see them. `refundedSoFar` is the order's cumulative refund, so each
 * refund event also carries the running total.
 *
 * The first snapshot of an order is compared with the order as it was placed: every item
 * waiting, nothing closed. An order first seen closed or refunded thus yields `order.created`
 * followed by the events that got it there.
 */
export function detectChanges(
  previous: CanonicalOrder | undefined,
  next: CanonicalOrder,
  refundedSoFar: ComponentCents,
): AnyChange[] {
  const changes: AnyChange[] = [];
  const before = previous ?? placedVersionOf(next);
  if (!previous)
    changes.push({ type: "order.created", subject: "", change: {} });

  if (before.closedAt !== null && next.closedAt === null) {
    changes.push({ type: "order.reopened", subject: "", change: {} });
  }

  const itemsChange = compareItems(before.items, next.items);
  if (itemsChange)
    changes.push({
      type: "order.items_changed",
      subject: "",
      change: itemsChange,
    });

  const beforeItems = new Map(before.items.map((item) => [item.itemId, item]));
  for (const item of next.items) {
    const earlier = beforeItems.get(item.itemId);
    if (earlier && earlier.status !== item.status) {
      changes.push({
        type: "order.item_status_changed",
        subject: item.itemId,
        change: {
          itemId: item.itemId,
          name: item.name,
          from: earlier.status,
          to: item.status,
        },
      });
    }
  }

  if (before.stage !== next.stage) {
    changes.push({
      type: "order.status_changed",
      subject: "",
      change: { from: before.stage, to: next.stage },
    });
  }

  const refund = refundBetween(before, next, refundedSoFar);
  if (refund)
    changes.push({ type: "order.refunded", subject: "", change: refund });

  if (before.tipCents !== next.tipCents) {
    changes.push({
      type: "order.tip_changed",
      subject: "",
      change: { fromCents: before.tipCents, toCents: next.tipCents },
    });
  }

  const fields = changedFields(before, next, itemsChange !== undefined);
  if (fields.length > 0)
    changes.push({ type: "order.updated", subject: "", change: { fields } });

  if (before.closedAt === null && next.closedAt !== null) {
    changes.push({
      type: "order.closed",
      subject: "",
      change: { closedAt: next.closedAt },
    });
  }

  return changes;
}

/**
 * Infers the order as it stood when placed from a later first snapshot: items waiting, not
 * closed, and the money of refunded items still counted, so their refund is detected.
 */
function placedVersionOf(order: CanonicalOrder): CanonicalOrder {
  const items = order.items.map((item) => ({ ...item, status: "waiting" }));
  const refundedItems = order.items.filter((item) =>
    isRefundedStatus(item.status),
  );

  let totals = {
    pretaxCents: order.pretaxCents,
    taxCents: order.taxCents,
    tipCents: order.tipCents,
  };
  if (refundedItems.length > 0) {
    const sum = (pick: (item: OrderItem) => number) =>
      order.items.reduce((total, item) => total + pick(item), 0);
    totals = {
      pretaxCents: Math.max(
        order.pretaxCents,
        sum((item) => item.pretaxCents),
      ),
      taxCents: Math.max(
        order.taxCents,
        sum((item) => item.taxCents),
      ),
      tipCents: Math.max(
        order.tipCents,
        sum((item) => item.tipCents),
      ),
    };
  }

  return {
    ...order,
    ...totals,
    totalCents:
      totals.pretaxCents + totals.taxCents + totals.tipCents + order.feeCents,
    items,
    stage: items.length > 0 ? "waiting" : order.stage,
    closedAt: null,
  };
}

/** Items added, removed or changed in anything but their status. */
function compareItems(
  before: readonly OrderItem[],
  after: readonly OrderItem[],
): OrderChangeByType["order.items_changed"] | undefined {
  const beforeById = new Map(before.map((item) => [item.itemId, item]));
  const afterIds = new Set(after.map((item) => item.itemId));

  const added = after.filter((item) => !beforeById.has(item.itemId));
  const removed = before.filter((item) => !afterIds.has(item.itemId));
  const changed = after.flatMap((item) => {
    const earlier = beforeById.get(item.itemId);
    return earlier && contentOf(earlier) !== contentOf(item)
      ? [{ before: earlier, after: item }]
      : [];
  });

  if (added.length + removed.length + changed.length === 0) return undefined;
  return { added, removed, changed };
}

function contentOf(item: OrderItem): string {
  const { status: _status, ...content } = item;
  return JSON.stringify(content);
}

/**
 * Computes the refund of one change: each money component that went down. It comes from
 * cumulative totals, never from a flag, so a partial and a later full refund add up to the whole.
 */
function refundBetween(
  before: CanonicalOrder,
  after: CanonicalOrder,
  refundedSoFar: ComponentCents,
): OrderChangeByType["order.refunded"] | undefined {
  const amount: ComponentCents = {
    pretaxCents: Math.max(0, before.pretaxCents - after.pretaxCents),
    taxCents: Math.max(0, before.taxCents - after.taxCents),
    tipCents: Math.max(0, before.tipCents - after.tipCents),
    feeCents: Math.max(0, before.feeCents - after.feeCents),
  };
  if (totalOf(amount) === 0) return undefined;

  const afterIds = new Set(after.items.map((item) => item.itemId));
  const newlyRefunded = new Set(
    after.items
      .filter((item) => isRefundedStatus(item.status))
      .filter(
        (item) =>
          !before.items.some(
            (earlier) =>
              earlier.itemId === item.itemId &&
              isRefundedStatus(earlier.status),
          ),
      )
      .map((item) => item.itemId),
  );
  const items = [
    ...before.items.filter((item) => !afterIds.has(item.itemId)),
    ...after.items.filter((item) => newlyRefunded.has(item.itemId)),
  ];

  const cumulative = addComponents(refundedSoFar, amount);
  return {
    ...amount,
    totalCents: totalOf(amount),
    cumulative: { ...cumulative, totalCents: totalOf(cumulative) },
    items,
  };
}

/** Order fields outside items, money and status whose change staff or a POS would care about. */
function changedFields(
  before: CanonicalOrder,
  after: CanonicalOrder,
  itemsChanged: boolean,
): { field: string; from: unknown; to: unknown }[] {
  const watched: (keyof CanonicalOrder)[] = [
    "table",
    "fulfillmentMethod",
    "orderNumberToday",
    "wantedAt",
    "checkoutId",
    "discounts",
    "fees",
  ];
  const fields: { field: string; from: unknown; to: unknown }[] = watched
    .filter(
      (field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]),
    )
    .map((field) => ({ field, from: before[field], to: after[field] }));

  if (
    JSON.stringify(before.payment?.brand) !==
    JSON.stringify(after.payment?.brand)
  ) {
    fields.push({
      field: "payment.brand",
      from: before.payment?.brand ?? null,
      to: after.payment?.brand ?? null,
    });
  }

  // Decreases are refunds, and tips have their own event. An increase that no item change
  // explains is reported here, so no change of money goes unseen.
  if (!itemsChanged) {
    for (const field of ["pretaxCents", "taxCents", "feeCents"] as const) {
      if (after[field] > before[field])
        fields.push({ field, from: before[field], to: after[field] });
    }
  }
  return fields;
}
