import type { RestaurantConfig } from "../config/schema.ts";
import type { OrderEvent } from "../orders/events.ts";
import type { StoredOrder } from "../orders/ingest.ts";
import type { CanonicalOrder, ComponentCents } from "../orders/model.ts";
import { BUCKETS } from "../store/keys.ts";
import type { Store } from "../store/store.ts";

/** Sales and refunds of one payment brand or fulfillment method, in cents. */
export interface BreakdownTotals {
  orderCount: number;
  /** Amount the day's orders of this group collected before any refund. */
  collectedCents: number;
  refundCount: number;
  /** Refunds detected on the day for orders of this group, whatever day they were placed. */
  refundedCents: number;
}

/** Refunds detected on a business date, split by money component, in cents. */
export interface RefundTotals {
  count: number;
  /** Item pretax refunded, net of discounts. */
  salesCents: number;
  taxCents: number;
  tipCents: number;
  feeCents: number;
  totalCents: number;
}

/**
 * A restaurant's figures for one business date, in integer cents. Sales are the original
 * amounts (before any refund) of the orders placed on the date. Refunds are those detected
 * on the date, whichever day their orders were placed.
 */
export interface DayTotals {
  restaurantId: string;
  businessDate: string;
  currency: string;
  orderCount: number;
  /** Item pretax including mods, before discounts: net sales plus discounts. */
  grossSalesCents: number;
  discountCents: number;
  /** Item pretax including mods, after discounts. */
  netSalesCents: number;
  /** Service fees before tax. */
  feeCents: number;
  taxCents: number;
  tipCents: number;
  /** Net sales, fees, tax and tips: what the day's orders charged. */
  collectedCents: number;
  refunds: RefundTotals;
  /** Keyed by card brand as Bbot sends it; orders without payment data count under `unknown`. */
  byPaymentBrand: Record<string, BreakdownTotals>;
  byFulfillmentMethod: Record<string, BreakdownTotals>;
  /** Orders whose figures Bbot reported inconsistently, by order id (no guest data). */
  warnings: string[];
}

/** The brand key of an order without payment data. */
export const UNKNOWN_BRAND = "unknown";

/** Creates totals with every figure at zero. */
export function emptyTotals(
  restaurant: RestaurantConfig,
  businessDate: string,
): DayTotals {
  return {
    restaurantId: restaurant.id,
    businessDate,
    currency: restaurant.currency,
    orderCount: 0,
    grossSalesCents: 0,
    discountCents: 0,
    netSalesCents: 0,
    feeCents: 0,
    taxCents: 0,
    tipCents: 0,
    collectedCents: 0,
    refunds: {
      count: 0,
      salesCents: 0,
      taxCents: 0,
      tipCents: 0,
      feeCents: 0,
      totalCents: 0,
    },
    byPaymentBrand: {},
    byFulfillmentMethod: {},
    warnings: [],
  };
}

/** Returns the original sale of a stored order: its current amounts plus everything refunded since. */
export function originalSaleOf(order: StoredOrder): ComponentCents {
  return {
    pretaxCents: order.current.pretaxCents + order.refunded.pretaxCents,
    taxCents: order.current.taxCents + order.refunded.taxCents,
    tipCents: order.current.tipCents + order.refunded.tipCents,
    feeCents: order.current.feeCents + order.refunded.feeCents,
  };
}

/**
 * Adds one order's original sale to the totals of its business date.
 *
 * NOTE: the discount is the current snapshot's, because the store keeps no earlier one. When
 * a refund removes a discounted item, gross sales and discounts of the sale's day both drop by
 * that item's discount, so a forced re-export posts that pair as a correction. Net sales and
 * everything else stay exact.
 */
export function addSale(totals: DayTotals, order: StoredOrder): void {
  const sale = originalSaleOf(order);
  const collected =
    sale.pretaxCents + sale.taxCents + sale.tipCents + sale.feeCents;

  totals.orderCount += 1;
  totals.netSalesCents += sale.pretaxCents;
  totals.discountCents += order.current.discountCents;
  totals.grossSalesCents += sale.pretaxCents + order.current.discountCents;
  totals.feeCents += sale.feeCents;
  totals.taxCents += sale.taxCents;
  totals.tipCents += sale.tipCents;
  totals.collectedCents += collected;

  for (const group of groupsOf(totals, order.current)) {
    group.orderCount += 1;
    group.collectedCents += collected;
  }

  const reported = order.current.totalCents + totalOfRefunds(order);
  if (reported !== collected) {
    totals.warnings.push(
      `order ${order.orderId}: Bbot's total_cents ${reported} differs from pretax + tax + tip + fee ${collected}; the export books the components`,
    );
  }
}

/** Adds one refund detected on the totals' business date. */
export function addRefund(
  totals: DayTotals,
  event: OrderEvent<"order.refunded">,
): void {
  const refund = event.change;
  const amount =
    refund.pretaxCents + refund.taxCents + refund.tipCents + refund.feeCents;

  totals.refunds.count += 1;
  totals.refunds.salesCents += refund.pretaxCents;
  totals.refunds.taxCents += refund.taxCents;
  totals.refunds.tipCents += refund.tipCents;
  totals.refunds.feeCents += refund.feeCents;
  totals.refunds.totalCents += amount;

  for (const group of groupsOf(totals, event.order)) {
    group.refundCount += 1;
    group.refundedCents += amount;
  }
}

/**
 * Reads a restaurant's totals for a business date from the store. Orders come from the 16
 * `orders` partitions of the date. Refunds come from the `order.refunded` events in the 16
 * `events` partitions of the date, because events are filed by the date they were detected.
 * `existing` lists the partitions that exist, so absent ones are not loaded.
 */
export async function readDayTotals(
  store: Store,
  restaurant: RestaurantConfig,
  businessDate: string,
  existing?: { orders: ReadonlySet<string>; events: ReadonlySet<string> },
): Promise<DayTotals> {
  const totals = emptyTotals(restaurant, businessDate);

  for (const partition of datePartitions(businessDate)) {
    if (existing && !existing.orders.has(partition)) continue;
    const rows = await store.rows<StoredOrder>("orders", partition);
    for (const [, order] of rows) {
      if (order.restaurantId === restaurant.id) addSale(totals, order);
    }
  }

  for (const partition of datePartitions(businessDate)) {
    if (existing && !existing.events.has(partition)) continue;
    const rows = await store.rows<{ type: string; restaurantId: string }>(
      "events",
      partition,
    );
    for (const [, event] of rows) {
      if (event.type !== "order.refunded") continue;
      if (event.restaurantId !== restaurant.id) continue;
      addRefund(totals, event as unknown as OrderEvent<"order.refunded">);
    }
  }

  totals.warnings.sort();
  return totals;
}

/** Lists the 16 bucket partitions of a business date, `2021-12-07.00` to `2021-12-07.0f`. */
export function datePartitions(businessDate: string): string[] {
  const partitions: string[] = [];
  for (let bucket = 0; bucket < BUCKETS; bucket += 1) {
    partitions.push(`${businessDate}.${bucket.toString(16).padStart(2, "0")}`);
  }
  return partitions;
}

function totalOfRefunds(order: StoredOrder): number {
  const refunded = order.refunded;
  return (
    refunded.pretaxCents +
    refunded.taxCents +
    refunded.tipCents +
    refunded.feeCents
  );
}

function groupsOf(totals: DayTotals, order: CanonicalOrder): BreakdownTotals[] {
  const brand = order.payment?.brand || UNKNOWN_BRAND;
  return [
    groupIn(totals.byPaymentBrand, brand),
    groupIn(totals.byFulfillmentMethod, order.fulfillmentMethod),
  ];
}

function groupIn(
  groups: Record<string, BreakdownTotals>,
  key: string,
): BreakdownTotals {
  let group = groups[key];
  if (!group) {
    group = {
      orderCount: 0,
      collectedCents: 0,
      refundCount: 0,
      refundedCents: 0,
    };
    groups[key] = group;
  }
  return group;
}
