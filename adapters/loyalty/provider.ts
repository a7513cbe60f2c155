import type { DeliveryContext } from "../../src/delivery/contract.ts";
import { PermanentDeliveryError } from "../../src/delivery/errors.ts";
import { sendHttp } from "../../src/delivery/http.ts";
import type { OrderEvent } from "../../src/orders/events.ts";
import type { GuestIdentifier } from "./identity.ts";
import type { LoyaltyOptions } from "./options.ts";

/** One points movement for an order, in the terms both provider modes share. */
export interface PointsTransaction {
  operation: "credit" | "reverse";
  /** Deterministic key derived from the order id and the operation, sent in the body. */
  key: string;
  /** Sent as the `Idempotency-Key` header: the delivery's key, with a suffix for a second request. */
  requestKey: string;
  event: OrderEvent;
  /** Points to add (credit) or take back (reverse), always positive here. */
  points: number;
  /** Credit: eligible spend. Reverse: refunded pretax since the credit. In cents. */
  spendCents: number;
  currency: string;
  /** The guest, in generic mode. */
  identifier: GuestIdentifier | null;
  /** Square's loyalty account id, in square mode. */
  accountId: string | null;
}

/** Sends points movements to one provider. */
export interface LoyaltyProvider {
  /**
   * Finds the provider's account id for a guest, or null when it has none. Only square mode
   * has accounts to look up; generic mode sends the guest identifier with each request.
   */
  findAccount?(
    identifier: GuestIdentifier,
    context: DeliveryContext,
  ): Promise<string | null>;
  send(transaction: PointsTransaction, context: DeliveryContext): Promise<void>;
}

/** Creates the provider client of the configured mode. */
export function createProvider(options: LoyaltyOptions): LoyaltyProvider {
  return options.mode === "square"
    ? squareProvider(options)
    : genericProvider(options);
}

/**
 * Generic mode: POST `{baseUrl}/transactions` with this service's JSON contract. A 409 means
 * the provider already has the key, so it counts as delivered.
 */
function genericProvider(options: LoyaltyOptions): LoyaltyProvider {
  return {
    async send(transaction, context) {
      const { event, identifier } = transaction;
      if (identifier === null)
        throw new PermanentDeliveryError(
          "generic loyalty request has no guest identifier",
        );

      const sign = transaction.operation === "credit" ? 1 : -1;
      const body = {
        idempotencyKey: transaction.key,
        operation: transaction.operation,
        restaurantId: event.restaurantId,
        orderId: event.orderId,
        eventId: event.id,
        occurredAt: event.occurredAt,
        customer: { [identifier.kind]: identifier.value },
        points: sign * transaction.points,
        spendCents: transaction.spendCents,
        currency: transaction.currency,
      };
      await sendHttp(
        {
          url: `${options.baseUrl}/transactions`,
          body,
          acceptStatus: [409],
        },
        { ...context, idempotencyKey: transaction.requestKey },
      );
    },
  };
}

/**
 * Square mode: SearchLoyaltyAccounts by phone, then AccumulateLoyaltyPoints with `points`
 * (Bbot orders are not Square orders, so `order_id` cannot be used) and AdjustLoyaltyPoints
 * with negative points for reversals. Square replays a request whose `idempotency_key` it has
 * seen, so retries do not add points twice.
 */
function squareProvider(options: LoyaltyOptions): LoyaltyProvider {
  // NOTE: no `Square-Version` header is sent, so Square applies the API version set for the
  // application in its developer dashboard.
  const headers = { Authorization: `Bearer ${options.accessToken ?? ""}` };
  const accounts = `${options.baseUrl}/v2/loyalty/accounts`;

  return {
    async findAccount(identifier, context) {
      const response = await sendHttp(
        {
          url: `${accounts}/search`,
          headers,
          body: {
            query: { mappings: [{ phone_number: identifier.value }] },
            limit: 1,
          },
        },
        { ...context, idempotencyKey: `${context.idempotencyKey}:search` },
      );
      return firstAccountId(response.data);
    },
    async send(transaction, context) {
      if (transaction.accountId === null)
        throw new PermanentDeliveryError(
          "Square loyalty request has no account id",
        );

      const url = `${accounts}/${encodeURIComponent(transaction.accountId)}`;
      const body =
        transaction.operation === "credit"
          ? {
              idempotency_key: transaction.key,
              accumulate_points: { points: transaction.points },
              location_id: options.locationId,
            }
          : {
              idempotency_key: transaction.key,
              adjust_points: {
                points: -transaction.points,
                reason: `Refund of order ${transaction.event.orderId}`,
              },
              allow_negative_balance: options.allowNegativeBalance,
            };
      const path = transaction.operation === "credit" ? "accumulate" : "adjust";
      await sendHttp(
        { url: `${url}/${path}`, headers, body },
        { ...context, idempotencyKey: transaction.requestKey },
      );
    },
  };
}

/** Reads `loyalty_accounts[0].id` from a SearchLoyaltyAccounts response. */
function firstAccountId(data: unknown): string | null {
  if (typeof data !== "object" || data === null) return null;
  const list = (data as { loyalty_accounts?: unknown }).loyalty_accounts;
  if (!Array.isArray(list) || list.length === 0) return null;
  const id = (list[0] as { id?: unknown } | null)?.id;
  return typeof id === "string" && id !== "" ? id : null;
}
