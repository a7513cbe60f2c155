/**
 * The canonical order: Bbot's order snapshot mapped to camelCase, with money always in
 * integer cents and the guest's personal data kept apart from everything else.
 */
export interface CanonicalOrder {
  /** Bbot's order UUID (`order.id`), the order's identifier. */
  orderId: string;
  /** The restaurant's id in this service's config. */
  restaurantId: string;
  /** Bbot's restaurant UUID (`order.restaurant_id`). */
  bbotRestaurantId: string;
  /** The integrator's customer id sent as the webhook's top-level `restaurant_id`. */
  customerId: string | null;
  checkoutId: string | null;
  table: OrderTable | null;
  fulfillmentMethod: string;
  /** The short number shown to guests; it wraps after 999 and repeats across days. */
  orderNumberToday: number | null;
  items: OrderItem[];
  pretaxCents: number;
  taxCents: number;
  tipCents: number;
  feeCents: number;
  discountCents: number;
  totalCents: number;
  discounts: OrderDiscount[];
  fees: OrderFee[];
  payment: OrderPayment | null;
  /** Personal data: sent only to adapters whose config lists the fields. */
  guest: OrderGuest | null;
  /** Order placement time, ISO 8601 as Bbot sent it (microseconds kept). */
  placedAt: string;
  /** Bbot's `last_modified`, ISO 8601 with microseconds kept. */
  modifiedAt: string;
  closedAt: string | null;
  /** The time the guest asked for (`user_desired_time`), if any. */
  wantedAt: string | null;
  /** The restaurant's business date of `placedAt`, `YYYY-MM-DD`. */
  businessDate: string;
  /** The order's overall stage, derived from its items' statuses. */
  stage: string;
  /** Identities Bbot's figures break, such as items that do not add up to the order's pretax. */
  warnings: string[];
}

export interface OrderTable {
  id: string | null;
  name: string | null;
  shortId: string | null;
}

/** One unit of a menu item: Bbot sends each unit as its own row. */
export interface OrderItem {
  itemId: string;
  menuItemId: string | null;
  name: string;
  mods: OrderMod[];
  specialInstructions: string;
  /** Includes the mods' pretax. */
  pretaxCents: number;
  /** Includes the mods' tax. */
  taxCents: number;
  tipCents: number;
  /** The list price before promotions, when Bbot sends it; otherwise equal to `pretaxCents`. */
  originalPretaxCents: number;
  status: string;
  tags: string[];
}

export interface OrderMod {
  modId: string;
  name: string;
  pretaxCents: number;
  taxCents: number;
}

export interface OrderDiscount {
  promotionId: string | null;
  name: string;
  type: string | null;
}

export interface OrderFee {
  name: string;
  pretaxCents: number;
  taxCents: number;
}

export interface OrderPayment {
  brand: string | null;
  funding: string | null;
  /** Card data, so personal: removed unless the adapter's config lists `cardLast4`. */
  last4: string | null;
  /** `charge.amount`; a checkout can span several restaurants, so it may exceed the total. */
  chargedCents: number | null;
}

export interface OrderGuest {
  guestId: string | null;
  email: string | null;
  phone: string | null;
  name: string | null;
  firstName: string | null;
  lastName: string | null;
}

/** The personal fields an adapter's config can ask for. */
export const PERSONAL_FIELDS = [
  "guestId",
  "email",
  "phone",
  "name",
  "firstName",
  "lastName",
  "cardLast4",
] as const;

export type PersonalField = (typeof PERSONAL_FIELDS)[number];

/** Amounts per money component, in cents. */
export interface ComponentCents {
  pretaxCents: number;
  taxCents: number;
  tipCents: number;
  feeCents: number;
}

export const ZERO_COMPONENTS: ComponentCents = Object.freeze({
  pretaxCents: 0,
  taxCents: 0,
  tipCents: 0,
  feeCents: 0,
});

/** Sums each component of two amounts. */
export function addComponents(
  a: ComponentCents,
  b: ComponentCents,
): ComponentCents {
  return {
    pretaxCents: a.pretaxCents + b.pretaxCents,
    taxCents: a.taxCents + b.taxCents,
    tipCents: a.tipCents + b.tipCents,
    feeCents: a.feeCents + b.feeCents,
  };
}

/** Sums the four components of an amount. */
export function totalOf(amount: ComponentCents): number {
  return (
    amount.pretaxCents + amount.taxCents + amount.tipCents + amount.feeCents
  );
}

/**
 * Copies an order without the personal fields that `allowed` does not list.
 * The guest object stays only when at least one of its fields is allowed.
 */
export function redactOrder(
  order: CanonicalOrder,
  allowed: readonly PersonalField[],
): CanonicalOrder {
  const keep = new Set(allowed);
  const payment =
    order.payment && !keep.has("cardLast4")
      ? { ...order.payment, last4: null }
      : order.payment;

  let guest: OrderGuest | null = null;
  if (order.guest) {
    const copy: OrderGuest = {
      guestId: keep.has("guestId") ? order.guest.guestId : null,
      email: keep.has("email") ? order.guest.email : null,
      phone: keep.has("phone") ? order.guest.phone : null,
      name: keep.has("name") ? order.guest.name : null,
      firstName: keep.has("firstName") ? order.guest.firstName : null,
      lastName: keep.has("lastName") ? order.guest.lastName : null,
    };
    guest = Object.values(copy).some((value) => value !== null) ? copy : null;
  }

  return { ...order, payment, guest };
}
