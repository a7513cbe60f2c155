/**
 * The per-order loyalty ledger kept in the adapter's durable state, and the point arithmetic.
 * Points and cents are integers, and every division rounds down.
 */

/** The one credit of an order. */
export interface CreditRecord {
  eventId: string;
  /** The credit event's position among its order's events. */
  sequence: number;
  /** The snapshot revision the credit was computed from. */
  revision: string;
  points: number;
  /** Eligible spend: the snapshot's pretax after discounts and after refunds made before it, in cents. */
  spendCents: number;
  /** Cumulative refunded pretax that `spendCents` already leaves out, in cents. */
  refundBaselineCents: number;
  /** Square's loyalty account id, kept for reversals. Null in generic mode or for a 0-point credit. */
  accountId: string | null;
  /** The body idempotency key of the credit request, or null when 0 points sent no request. */
  idempotencyKey: string | null;
}

/** One order.refunded event the ledger has applied or is holding. */
export interface RefundRecord {
  eventId: string;
  sequence: number;
  revision: string;
  /** All refunded pretax of the order as of this refund, in cents. */
  cumulativePretaxCents: number;
  /** Points this refund reversed, or null while it waits for the credit. */
  reversedPoints: number | null;
}

/** Credit and reversals of one order, stored under the order id. */
export interface LoyaltyLedger {
  version: 1;
  credit: CreditRecord | null;
  /** Sum of the points every reversal of the order took back. */
  reversedPoints: number;
  refunds: RefundRecord[];
}

/** The position of an event in its order's history. */
export interface EventPosition {
  sequence: number;
  revision: string;
}

export function emptyLedger(): LoyaltyLedger {
  return { version: 1, credit: null, reversedPoints: 0, refunds: [] };
}

/** Computes floor(spendCents * pointsPerUnit / 100) in exact integer arithmetic. */
export function pointsFor(spendCents: number, pointsPerUnit: number): number {
  if (spendCents <= 0) return 0;
  return Number((BigInt(spendCents) * BigInt(pointsPerUnit)) / 100n);
}

/**
 * Tells whether a credit's snapshot already reflects a refund: the refund came from the same
 * snapshot or from an earlier one, so the snapshot's pretax no longer contains it.
 */
export function isReflectedIn(
  refund: EventPosition,
  credit: EventPosition,
): boolean {
  return (
    refund.revision === credit.revision || refund.sequence < credit.sequence
  );
}

/** Returns the cumulative refunded pretax a credit snapshot already leaves out, in cents. */
export function refundBaselineOf(
  refunds: readonly RefundRecord[],
  credit: EventPosition,
): number {
  let baseline = 0;
  for (const refund of refunds) {
    if (isReflectedIn(refund, credit))
      baseline = Math.max(baseline, refund.cumulativePretaxCents);
  }
  return baseline;
}

/** The reversal a ledger still owes, in points, and the refunded spend it is based on, in cents. */
export interface ReversalDue {
  points: number;
  refundedSpendCents: number;
}

/**
 * Computes the points still to reverse: floor(credited points * refunded pretax since the
 * credit / credited spend) minus what was already reversed, capped at the credited points.
 * The largest cumulative refund counts, so refunds applied out of order never reverse twice.
 */
export function reversalDueOf(
  ledger: LoyaltyLedger,
  refunds: readonly RefundRecord[] = ledger.refunds,
): ReversalDue {
  const credit = ledger.credit;
  if (credit === null || credit.points === 0 || credit.spendCents <= 0)
    return { points: 0, refundedSpendCents: 0 };

  const cumulative = Math.max(
    0,
    ...refunds.map((refund) => refund.cumulativePretaxCents),
  );
  const refundedSpendCents = Math.min(
    credit.spendCents,
    Math.max(0, cumulative - credit.refundBaselineCents),
  );
  const target = Number(
    (BigInt(credit.points) * BigInt(refundedSpendCents)) /
      BigInt(credit.spendCents),
  );
  const points = Math.max(
    0,
    Math.min(target, credit.points) - ledger.reversedPoints,
  );
  return { points, refundedSpendCents };
}

/** Builds the body idempotency key of an order's credit. */
export function creditKeyOf(orderId: string): string {
  return `bbot-loyalty:${orderId}:credit`;
}

/** Builds the body idempotency key of the reversal made for one refund event. */
export function reversalKeyOf(orderId: string, refundEventId: string): string {
  return `bbot-loyalty:${orderId}:reverse:${refundEventId}`;
}
