import * as yup from "yup";

import type { AdapterFactory } from "../../src/delivery/contract.ts";
import { sendHttp } from "../../src/delivery/http.ts";
import type { JournalEntryEvent } from "../../src/orders/events.ts";

export const accountingOptionsSchema = yup
  .object({
    /** Endpoint that receives each journal entry as a JSON POST. */
    url: yup
      .string()
      .required()
      .matches(/^https?:\/\//, "must be an http:// or https:// URL"),
    /** Extra request headers, such as an Authorization header taken from the environment. */
    headers: yup
      .object()
      .default({})
      .test(
        "header-values",
        "must map header names to strings without line breaks",
        (value) =>
          Object.entries(value ?? {}).every(
            ([name, item]) =>
              /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name) &&
              typeof item === "string" &&
              !/[\r\n]/.test(item),
          ),
      ),
    /** Statuses that count as delivered besides 2xx. Default [409]: the endpoint already has the entry. */
    acceptStatus: yup
      .array(yup.number().integer().min(100).max(599).required())
      .default([409]),
  })
  .exact("unknown key ${properties}; allowed: url, headers, acceptStatus");

export type AccountingOptions = yup.InferType<typeof accountingOptionsSchema>;

/**
 * Returns the idempotency key of a journal entry: restaurant, business date and revision, so a
 * retry or a replay of the same revision is recognised and a correction is not.
 */
export function journalIdempotencyKey(event: JournalEntryEvent): string {
  return `bbot-bridge:${event.restaurantId}:${event.change.businessDate}:r${event.change.revision}`;
}

/**
 * Posts each `export.journal_entry` event's entry (the export's JSON document) to an
 * accounting endpoint with `sendHttp`, so network errors, 408, 425, 429 and 5xx are retried
 * and other statuses dead-lettered. Other event types are skipped without a request.
 */
export const accountingAdapter: AdapterFactory<AccountingOptions> = {
  type: "accounting",
  optionsSchema: accountingOptionsSchema,
  defaultEvents: ["export.journal_entry"],
  create(options) {
    const headers = Object.fromEntries(
      Object.entries(options.headers).map(([name, value]) => [
        name,
        String(value),
      ]),
    );
    return {
      type: "accounting",
      async handle(event, context) {
        if (event.type !== "export.journal_entry") {
          context.logger.debug(
            { eventType: event.type },
            "accounting adapter skips events other than export.journal_entry",
          );
          return;
        }
        await sendHttp(
          {
            url: options.url,
            body: event.change.entry,
            headers: {
              ...headers,
              "Idempotency-Key": journalIdempotencyKey(event),
            },
            acceptStatus: options.acceptStatus,
          },
          context,
        );
      },
    };
  },
};
