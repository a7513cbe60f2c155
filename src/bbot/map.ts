import type { RestaurantConfig } from "../config/schema.ts";
import type {
  CanonicalOrder,
  OrderDiscount,
  OrderFee,
  OrderGuest,
  OrderItem,
  OrderMod,
} from "../orders/model.ts";
import { businessDateOf } from "./business-date.ts";
import type { BbotItem, BbotOrder, BbotWebhook } from "./payload.ts";
import { deriveStage, isRefundedStatus } from "./stage.ts";

/** Maps a validated Bbot webhook onto the canonical order of a configured restaurant. */
export function mapOrder(
  payload: BbotWebhook,
  restaurant: RestaurantConfig,
): CanonicalOrder {
  const source = payload.order;
  const items = source.items.map(mapItem);
  const placedMs = Date.parse(source.time);

  const order: CanonicalOrder = {
    orderId: source.id,
    restaurantId: restaurant.id,
    bbotRestaurantId: source.restaurant_id,
    customerId: idText(payload.restaurant_id),
    checkoutId: source.checkout_id ?? null,
    table: source.table
      ? {
          id: source.table.id ?? null,
          name: source.table.display_name ?? null,
          shortId: source.table.short_id ?? null,
        }
      : null,
    fulfillmentMethod: source.fulfillment_method ?? "unknown",
    orderNumberToday: source.orderNumberToday ?? null,
    items,
    pretaxCents: source.pretax_cents,
    taxCents: source.tax_cents,
    tipCents: source.tip_cents,
    feeCents: source.fee_pretax_cents ?? 0,
    discountCents: items.reduce(
      (sum, item) => sum + (item.originalPretaxCents - item.pretaxCents),
      0,
    ),
    totalCents: source.total_cents,
    discounts: mapDiscounts(source),
    fees: mapFees(source.fees_on_my_receipt),
    payment: source.charge
      ? {
          brand: source.charge.brand ?? null,
          funding: source.charge.funding ?? null,
          last4: source.charge.last4 ?? null,
          chargedCents: source.charge.amount ?? null,
        }
      : null,
    guest: mapGuest(source),
    placedAt: source.time,
    modifiedAt: source.last_modified,
    closedAt: source.time_closed ?? null,
    wantedAt: source.user_desired_time ?? null,
    businessDate: businessDateOf(
      placedMs,
      restaurant.timeZone,
      restaurant.businessDayCutoffHour,
    ),
    stage: deriveStage(items.map((item) => item.status)),
    warnings: [],
  };

  order.warnings = checkIdentities(order, source);
  return order;
}

function idText(value: string | number | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  return String(value);
}

function mapItem(item: BbotItem): OrderItem {
  const mods: OrderMod[] = (item.mods ?? []).map((mod) => ({
    modId: mod.id ?? "",
    name: mod.name ?? "",
    pretaxCents: mod.pretax_cents ?? 0,
    taxCents: mod.tax_cents ?? 0,
  }));

  // An item's pretax already includes its mods, so a mod's markdown lowers the item's list
  // price by its own difference and is never added a second time.
  const modMarkdown = (item.mods ?? []).reduce(
    (sum, mod) =>
      sum +
      Math.max(
        0,
        (mod.orig_pretax_cents ?? mod.pretax_cents ?? 0) -
          (mod.pretax_cents ?? 0),
      ),
    0,
  );

  return {
    itemId: item.id,
    menuItemId: item.menuitem_id ?? null,
    name: item.name_when_purchased ?? "",
    mods,
    specialInstructions: item.special_instructions ?? "",
    pretaxCents: item.pretax_cents,
    taxCents: item.tax_cents,
    tipCents: item.tip_in_cents ?? 0,
    originalPretaxCents: Math.max(
      item.orig_pretax_cents ?? item.pretax_cents + modMarkdown,
      item.pretax_cents,
    ),
    status: item.status ?? "unknown",
    tags: (item.tags ?? []).map(String),
  };
}

function mapDiscounts(order: BbotOrder): OrderDiscount[] {
  return (order.loyalty_webhook_discounts ?? []).map((discount) => ({
    promotionId: discount.promotion?.id ?? null,
    name: discount.promotion?.name_for_owner ?? "",
    type: discount.promotion?.promo_type ?? null,
  }));
}

/** Reads `fees_on_my_receipt`, whose shape Bbot does not document, keeping what reads as money. */
function mapFees(fees: unknown[] | null | undefined): OrderFee[] {
  return (fees ?? []).flatMap((fee) => {
    if (fee === null || typeof fee !== "object") return [];
    const record = fee as Record<string, unknown>;
    const name = [record.name, record.name_for_guest, record.display_name].find(
      (value) => typeof value === "string",
    );
    return [
      {
        name: typeof name === "string" ? name : "fee",
        pretaxCents: integerOr(record.pretax_cents ?? record.cents),
        taxCents: integerOr(record.tax_cents),
      },
    ];
  });
}

function integerOr(value: unknown): number {
  return typeof value === "number" && Number.isInteger(value) ? value : 0;
}

function mapGuest(order: BbotOrder): OrderGuest | null {
  const guest: OrderGuest = {
    guestId: order.guest_id ?? null,
    email: order.guest_email || null,
    phone: order.mobile || null,
    name: order.guest_name || null,
    firstName: order.guest_first_name || null,
    lastName: order.guest_last_name || null,
  };
  return Object.values(guest).some((value) => value !== null) ? guest : null;
}

/**
 * Lists the identities that Bbot's figures break. The order is accepted either way and Bbot's
 * own totals stay the truth; the warnings tell an operator where to look.
 */
function checkIdentities(order: CanonicalOrder, source: BbotOrder): string[] {
  const warnings: string[] = [];
  const standing = order.items.filter((item) => !isRefundedStatus(item.status));

  const sums = {
    pretax_cents: standing.reduce((sum, item) => sum + item.pretaxCents, 0),
    tax_cents: standing.reduce((sum, item) => sum + item.taxCents, 0),
    tip_cents: standing.reduce((sum, item) => sum + item.tipCents, 0),
  };
  for (const [field, sum] of Object.entries(sums)) {
    const stated = source[field as keyof typeof sums];
    if (sum !== stated) {
      warnings.push(
        `items' ${field} add up to ${sum} but order.${field} is ${stated}`,
      );
    }
  }

  const expectedTotal =
    order.pretaxCents + order.taxCents + order.tipCents + order.feeCents;
  if (expectedTotal !== order.totalCents) {
    warnings.push(
      `order.total_cents is ${order.totalCents} but pretax + tax + tip + fee is ${expectedTotal}`,
    );
  }

  const seen = new Set<string>();
  for (const item of order.items) {
    if (seen.has(item.itemId))
      warnings.push(`item id ${item.itemId} appears more than once`);
    seen.add(item.itemId);
    const modPretax = item.mods.reduce((sum, mod) => sum + mod.pretaxCents, 0);
    if (modPretax > item.pretaxCents) {
      warnings.push(
        `item ${item.itemId}: mods' pretax_cents (${modPretax}) exceed the item's pretax_cents (${item.pretaxCents}), which should include them`,
      );
    }
  }

  return warnings;
}
