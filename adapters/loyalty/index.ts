import type {
  Adapter,
  AdapterDeps,
  AdapterFactory,
  DeliveryContext,
} from "../../src/delivery/contract.ts";
import type { BridgeEvent, OrderEvent } from "../../src/orders/events.ts";
import { guestIdentifierOf, type GuestIdentifier } from "./identity.ts";
import {
  creditKeyOf,
  emptyLedger,
  pointsFor,
  refundBaselineOf,
  reversalDueOf,
  reversalKeyOf,
  type LoyaltyLedger,
  type RefundRecord,
} from "./ledger.ts";
import { loyaltyOptionsSchema, type LoyaltyOptions } from "./options.ts";
import {
  createProvider,
  type LoyaltyProvider,
  type PointsTransaction,
} from "./provider.ts";

export { loyaltyOptionsSchema, type LoyaltyOptions } from "./options.ts";
export type { LoyaltyLedger } from "./ledger.ts";

/**
 * Credits a guest's loyalty account once per order (on order.closed, or on order.created
 * with `creditOn: "created"`) and reverses points in proportion to later refunds. A ledger per
 * order in the adapter state makes duplicates, replays and out-of-order refunds harmless.
 */
export const loyaltyAdapter: AdapterFactory<LoyaltyOptions> = {
  type: "loyalty",
  optionsSchema: loyaltyOptionsSchema,
  defaultEvents: ["order.created", "order.closed", "order.refunded"],
  checkEntry(entry, options) {
    // The engine removes personal fields the entry does not list, so every order would be skipped.
    if (entry.personalData.includes(options.identifyBy)) return [];
    return [
      {
        path: "personalData",
        message: `must list "${options.identifyBy}", which options.identifyBy sends to the provider`,
      },
    ];
  },
  create(options, deps) {
    return new LoyaltySync(options, deps);
  },
};

/** The reason an event sent nothing, for the log line. It never contains guest data. */
interface Skip {
  reason: string;
}

/** The parts of a points movement that differ between a credit and a reversal. */
type Movement = Pick<
  PointsTransaction,
  "operation" | "key" | "requestKey" | "event" | "points" | "spendCents"
>;

// NOTE: the engine runs one delivery at a time per order and adapter, which is what keeps the
// read-modify-write of a ledger below free of races. Calling `handle` concurrently for one
// order outside the engine could apply a refund twice.
class LoyaltySync implements Adapter {
  readonly type = "loyalty";
  private readonly provider: LoyaltyProvider;
  private readonly creditEvent: "order.closed" | "order.created";

  constructor(
    private readonly options: LoyaltyOptions,
    private readonly deps: AdapterDeps,
  ) {
    this.provider = createProvider(options);
    this.creditEvent =
      options.creditOn === "created" ? "order.created" : "order.closed";
  }

  async start(): Promise<void> {
    const field = this.options.identifyBy;
    if (!this.deps.entry.personalData.includes(field)) {
      this.deps.logger.warn(
        { adapter: this.deps.entry.name, identifyBy: field },
        `personalData of the entry does not list ${field}, so every order will be skipped; add ${field} to personalData`,
      );
    }
  }

  async handle(event: BridgeEvent, context: DeliveryContext): Promise<void> {
    let skip: Skip | undefined;
    if (event.type === "order.refunded")
      skip = await this.applyRefund(
        event as OrderEvent<"order.refunded">,
        context,
      );
    else if (event.type === this.creditEvent)
      skip = await this.applyCredit(event as OrderEvent, context);

    if (skip !== undefined) {
      context.logger.info(
        {
          orderId: event.orderId,
          eventId: event.id,
          eventType: event.type,
          reason: skip.reason,
        },
        "loyalty skipped the event",
      );
    }
  }

  /** Credits the order once, then reverses what refunds recorded before the credit still owe. */
  private async applyCredit(
    event: OrderEvent,
    context: DeliveryContext,
  ): Promise<Skip | undefined> {
    const ledger = await this.ledgerOf(event.orderId);
    if (ledger.credit !== null)
      return {
        reason: `order already credited by event ${ledger.credit.eventId}`,
      };

    const guest = guestIdentifierOf(event.order, this.options);
    if (!guest.ok) return { reason: guest.reason };

    // Eligible spend is the pretax after discounts, because tax, tip and fees earn no points.
    const spendCents = Math.max(0, event.order.pretaxCents);
    const points = pointsFor(spendCents, this.options.pointsPerUnit);
    const key = creditKeyOf(event.orderId);

    let accountId: string | null = null;
    if (points > 0) {
      if (this.provider.findAccount) {
        accountId = await this.provider.findAccount(guest.identifier, context);
        if (accountId === null)
          return {
            reason: "the provider has no loyalty account for the guest",
          };
      }
      const movement: Movement = {
        operation: "credit",
        key,
        requestKey: context.idempotencyKey,
        event,
        points,
        spendCents,
      };
      await this.provider.send(
        this.transaction(movement, guest.identifier, accountId),
        context,
      );
    }

    const credited: LoyaltyLedger = {
      ...ledger,
      credit: {
        eventId: event.id,
        sequence: event.sequence,
        revision: event.revision,
        points,
        spendCents,
        refundBaselineCents: refundBaselineOf(ledger.refunds, event),
        accountId,
        idempotencyKey: points > 0 ? key : null,
      },
    };
    await this.deps.state.set(event.orderId, credited);
    context.logger.info(
      { orderId: event.orderId, eventId: event.id, points, spendCents },
      "loyalty credited the order",
    );

    await this.applyPendingRefunds(credited, event, guest.identifier, context);
    return undefined;
  }

  /**
   * Reverses in one request what the refunds recorded before the credit still owe. Refunds
   * that the credit snapshot already reflects owe nothing, because the credit left them out.
   */
  private async applyPendingRefunds(
    ledger: LoyaltyLedger,
    event: OrderEvent,
    identifier: GuestIdentifier,
    context: DeliveryContext,
  ): Promise<void> {
    const pending = ledger.refunds.filter(
      (refund) => refund.reversedPoints === null,
    );
    if (pending.length === 0) return;

    const due = reversalDueOf(ledger);
    const latest = pending.reduce((a, b) => (b.sequence > a.sequence ? b : a));
    if (due.points > 0) {
      const movement: Movement = {
        operation: "reverse",
        key: reversalKeyOf(event.orderId, latest.eventId),
        requestKey: `${context.idempotencyKey}:reverse`,
        event,
        points: due.points,
        spendCents: due.refundedSpendCents,
      };
      await this.provider.send(
        this.transaction(
          movement,
          identifier,
          ledger.credit?.accountId ?? null,
        ),
        context,
      );
    }

    const refunds = ledger.refunds.map((refund) =>
      refund.reversedPoints !== null
        ? refund
        : { ...refund, reversedPoints: refund === latest ? due.points : 0 },
    );
    await this.deps.state.set<LoyaltyLedger>(event.orderId, {
      ...ledger,
      refunds,
      reversedPoints: ledger.reversedPoints + due.points,
    });
    context.logger.info(
      {
        orderId: event.orderId,
        eventId: event.id,
        points: due.points,
        refunds: pending.length,
      },
      "loyalty applied the refunds recorded before the credit",
    );
  }

  /** Reverses the points a refund takes back, or records the refund until the order is credited. */
  private async applyRefund(
    event: OrderEvent<"order.refunded">,
    context: DeliveryContext,
  ): Promise<Skip | undefined> {
    const ledger = await this.ledgerOf(event.orderId);
    if (ledger.refunds.some((refund) => refund.eventId === event.id))
      return { reason: "refund event already applied" };

    const refund: RefundRecord = {
      eventId: event.id,
      sequence: event.sequence,
      revision: event.revision,
      cumulativePretaxCents: event.change.cumulative.pretaxCents,
      reversedPoints: null,
    };
    const refunds = [...ledger.refunds, refund];
    if (ledger.credit === null) {
      await this.deps.state.set<LoyaltyLedger>(event.orderId, {
        ...ledger,
        refunds,
      });
      return {
        reason:
          "order not credited yet; the refund is recorded and settled with the credit",
      };
    }

    const due = reversalDueOf(ledger, refunds);
    if (due.points > 0) {
      let identifier: GuestIdentifier | null = null;
      if (this.options.mode === "generic") {
        const guest = guestIdentifierOf(event.order, this.options);
        // Not recorded, so a replay with the identifier or any later refund still reverses these points.
        if (!guest.ok) return { reason: guest.reason };
        identifier = guest.identifier;
      }
      const movement: Movement = {
        operation: "reverse",
        key: reversalKeyOf(event.orderId, event.id),
        requestKey: context.idempotencyKey,
        event,
        points: due.points,
        spendCents: due.refundedSpendCents,
      };
      await this.provider.send(
        this.transaction(movement, identifier, ledger.credit.accountId),
        context,
      );
    }

    refund.reversedPoints = due.points;
    await this.deps.state.set<LoyaltyLedger>(event.orderId, {
      ...ledger,
      refunds,
      reversedPoints: ledger.reversedPoints + due.points,
    });
    context.logger.info(
      { orderId: event.orderId, eventId: event.id, points: due.points },
      "loyalty reversed points for a refund",
    );
    return undefined;
  }

  private async ledgerOf(orderId: string): Promise<LoyaltyLedger> {
    return (await this.deps.state.get<LoyaltyLedger>(orderId)) ?? emptyLedger();
  }

  /** Completes a movement with what each mode sends: the guest (generic) or the account id (square). */
  private transaction(
    movement: Movement,
    identifier: GuestIdentifier | null,
    accountId: string | null,
  ): PointsTransaction {
    const generic = this.options.mode === "generic";
    return {
      ...movement,
      currency: this.deps.restaurant.currency,
      identifier: generic ? identifier : null,
      accountId: generic ? null : accountId,
    };
  }
}
