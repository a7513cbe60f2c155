import type { AxiosResponse } from "axios";

import type {
  Adapter,
  AdapterFactory,
  DeliveryContext,
} from "../../src/delivery/contract.ts";
import {
  isRetryableStatus,
  PermanentDeliveryError,
} from "../../src/delivery/errors.ts";
import { sendHttp, statusFailure } from "../../src/delivery/http.ts";
import type {
  BridgeEvent,
  EventType,
  OrderEvent,
} from "../../src/orders/events.ts";
import { mapLines, UnmappedIds, type PosLine } from "./lines.ts";
import { posOptionsSchema, type PosOptions } from "./options.ts";
import { decodeSecret, signWebhook } from "./signature.ts";

export { posOptionsSchema, type PosOptions } from "./options.ts";
export type { PosLine, PosMod } from "./lines.ts";

/** POS action of a forwarded event. */
export type PosAction =
  "create" | "update_items" | "refund" | "cancel" | "close" | "reopen";

/** The JSON body POSTed to the POS. */
export interface PosRequestBody {
  action: PosAction;
  /** The event as the engine delivered it, with the order (personal data as the entry allows). */
  event: OrderEvent;
  /** The order's current items as POS lines. */
  lines: PosLine[];
  /** order.items_changed only: the items removed by the change. */
  removedLines?: PosLine[];
  /** order.refunded only: the items refunded by the change. */
  refundedLines?: PosLine[];
}

const FORWARDED_EVENTS: readonly EventType[] = [
  "order.created",
  "order.items_changed",
  "order.refunded",
  "order.status_changed",
  "order.closed",
  "order.reopened",
];

// Every final 4xx is let through sendHttp so its body can be read for `{"duplicate": true}`.
const INSPECTED_STATUSES = Array.from(
  { length: 100 },
  (_, i) => 400 + i,
).filter((status) => !isRetryableStatus(status));

/**
 * Forwards the order events a POS acts on to one endpoint as JSON with mapped POS lines,
 * signed with Standard Webhooks headers. An item or mod without a PLU fails the delivery
 * permanently, naming the ids. A 409 or a `{"duplicate": true}` response counts as delivered.
 */
export const posAdapter: AdapterFactory<PosOptions> = {
  type: "pos",
  optionsSchema: posOptionsSchema,
  defaultEvents: FORWARDED_EVENTS,
  create(options) {
    const keys = options.secrets.map((secret) => decodeSecret(secret)!);
    const tables = { items: options.items, mods: options.mods };

    const adapter: Adapter = {
      type: "pos",
      async handle(event, context) {
        const action = actionOf(event);
        if (action === null) {
          context.logger.debug(
            {
              orderId: event.orderId,
              eventId: event.id,
              eventType: event.type,
            },
            "pos ignored an event it does not forward",
          );
          return;
        }

        const body = JSON.stringify(
          requestBody(event as OrderEvent, action, tables),
        );
        const timestamp = Math.floor(context.clock.now() / 1000);
        const response = await sendHttp(
          {
            url: options.url,
            // A string body goes out byte for byte as signed; an object would be serialized again.
            body,
            headers: {
              ...signWebhook(context.idempotencyKey, timestamp, body, keys),
            },
            acceptStatus: INSPECTED_STATUSES,
          },
          context,
        );
        checkAnswer(response, event, context);
      },
    };
    return adapter;
  },
};

/** Returns the POS action of an event, or null for events the POS does not need. */
export function actionOf(event: BridgeEvent): PosAction | null {
  switch (event.type) {
    case "order.created":
      return "create";
    case "order.items_changed":
      return "update_items";
    case "order.refunded":
      return "refund";
    case "order.closed":
      return "close";
    case "order.reopened":
      return "reopen";
    case "order.status_changed":
      // The stage becomes `refunded` once every item is refunded, voided or cancelled.
      return (event as OrderEvent<"order.status_changed">).change.to ===
        "refunded"
        ? "cancel"
        : null;
    default:
      return null;
  }
}

/** Builds the request body, or throws PermanentDeliveryError naming every unmapped id. */
function requestBody(
  event: OrderEvent,
  action: PosAction,
  tables: { items: Record<string, string>; mods: Record<string, string> },
): PosRequestBody {
  const unmapped = new UnmappedIds();
  const body: PosRequestBody = {
    action,
    event,
    lines: mapLines(event.order.items, tables, unmapped),
  };
  if (event.type === "order.items_changed") {
    const change = (event as OrderEvent<"order.items_changed">).change;
    body.removedLines = mapLines(change.removed, tables, unmapped);
  }
  if (event.type === "order.refunded") {
    const change = (event as OrderEvent<"order.refunded">).change;
    body.refundedLines = mapLines(change.items, tables, unmapped);
  }

  if (!unmapped.empty) throw new PermanentDeliveryError(unmapped.describe());
  return body;
}

/** Accepts a 2xx, a 409 or a duplicate response, and throws the usual classification otherwise. */
function checkAnswer(
  response: AxiosResponse,
  event: BridgeEvent,
  context: DeliveryContext,
): void {
  const duplicate =
    response.status === 409 ||
    (typeof response.data === "object" &&
      response.data !== null &&
      (response.data as { duplicate?: unknown }).duplicate === true);
  if (duplicate) {
    context.logger.info(
      { orderId: event.orderId, eventId: event.id, status: response.status },
      "pos already had the event",
    );
    return;
  }
  if (response.status >= 200 && response.status < 300) return;
  throw statusFailure(response, context.clock.now());
}
