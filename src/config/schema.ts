import * as yup from "yup";

import "../yup-messages.ts";
import { EVENT_TYPES } from "../orders/events.ts";
import { PERSONAL_FIELDS } from "../orders/model.ts";

/** Tells whether the runtime supports an IANA time zone name. */
export function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

const SLUG = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const SLUG_RULE =
  "must be 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit";

const retrySchema = yup
  .object({
    /** Attempts before a transiently failing delivery becomes a dead letter. Default 18. */
    maxAttempts: yup.number().integer().min(1).max(100).default(18),
    /** Delay before the second attempt, in milliseconds. Default 30,000. */
    initialDelayMs: yup.number().integer().min(0).default(30_000),
    /** Cap on the delay between attempts, in milliseconds. Default 6 hours. */
    maxDelayMs: yup
      .number()
      .integer()
      .min(0)
      .default(6 * 60 * 60 * 1000),
    /** Random spread of each delay, as a fraction of it (0.2 = ±20 %). Default 0.2. */
    jitter: yup.number().min(0).max(1).default(0.2),
  })
  .exact(
    "unknown key ${properties}; allowed: maxAttempts, initialDelayMs, maxDelayMs, jitter",
  );

const breakerSchema = yup
  .object({
    /** Consecutive transient failures that open the breaker. Default 5. */
    failureThreshold: yup.number().integer().min(1).default(5),
    /** Wait before one probe delivery is let through, in milliseconds. Default 60,000. */
    cooldownMs: yup.number().integer().min(0).default(60_000),
    /** Cap on the wait, which doubles after each failed probe, in milliseconds. Default 30 minutes. */
    maxCooldownMs: yup
      .number()
      .integer()
      .min(0)
      .default(30 * 60 * 1000),
  })
  .exact(
    "unknown key ${properties}; allowed: failureThreshold, cooldownMs, maxCooldownMs",
  );

export const adapterEntrySchema = yup.object({
  /** Unique within the restaurant; names the adapter in deliveries, logs and the CLI. */
  name: yup.string().required().matches(SLUG, SLUG_RULE),
  /** The adapter implementation: jsonl, slack, accounting, loyalty or pos. */
  type: yup.string().required(),
  /** Event types to deliver, or `*`; defaults to the adapter type's own list. */
  events: yup
    .array(
      yup
        .string()
        .required()
        .oneOf(
          ["*", ...EVENT_TYPES],
          "must be * or one of: " + EVENT_TYPES.join(", "),
        ),
    )
    .optional(),
  /** Personal fields this adapter may receive; none by default. */
  personalData: yup
    .array(
      yup
        .string()
        .required()
        .oneOf(
          [...PERSONAL_FIELDS],
          "must be one of: " + PERSONAL_FIELDS.join(", "),
        ),
    )
    .default([]),
  /** Orders delivered in parallel by this adapter. Default 4, or the adapter type's own (jsonl: 32). */
  concurrency: yup.number().integer().min(1).max(64).optional(),
  /** Time limit of one attempt, in milliseconds. Default 10,000. */
  timeoutMs: yup.number().integer().min(100).default(10_000),
  retry: retrySchema.default(() => retrySchema.cast({})),
  breaker: breakerSchema.default(() => breakerSchema.cast({})),
  /** The adapter type's own settings, checked by that type's schema. */
  options: yup.object().default({}),
  /** A disabled adapter gets no new deliveries; its stored ones wait. */
  enabled: yup.boolean().default(true),
});

export const restaurantSchema = yup
  .object({
    /** This service's id for the restaurant: used in the CLI, file names and logs. */
    id: yup.string().required().matches(SLUG, SLUG_RULE),
    name: yup.string().required(),
    /** Matches the payload's `order.restaurant_id` (Bbot's UUID). */
    bbotRestaurantId: yup.string().optional(),
    /** Matches the payload's top-level `restaurant_id` (the id the integrator gave Bbot). */
    customerId: yup.string().optional(),
    /** IANA time zone of the restaurant, for business dates and schedules. */
    timeZone: yup
      .string()
      .required()
      .test(
        "time-zone",
        "must be an IANA time zone such as America/New_York",
        (value) => (value === undefined ? true : isTimeZone(value)),
      ),
    /** Local hour at which a business day ends: an order at 02:00 with cutoff 4 is the previous day's. */
    businessDayCutoffHour: yup.number().integer().min(0).max(23).default(4),
    /** ISO 4217 currency code, for formatting amounts. Default USD. */
    currency: yup
      .string()
      .matches(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD")
      .default("USD"),
    /** BCP 47 locale for formatting amounts and times. Default en-US. */
    locale: yup.string().default("en-US"),
    auth: yup
      .object({
        username: yup.string().required(),
        password: yup.string().required().min(1),
      })
      .required(),
    adapters: yup.array(adapterEntrySchema.required()).default([]),
    /** Settings for the nightly accounting export; absent means no export. */
    export: yup
      .object({
        /** False keeps the settings but stops the nightly run and catch-up. Default true. */
        enabled: yup.boolean().default(true),
        /** Local time of the nightly run, `HH:MM` (24-hour) in the restaurant's time zone. Default 06:00. */
        scheduleTime: yup
          .string()
          .matches(
            /^([01]\d|2[0-3]):[0-5]\d$/,
            "must be HH:MM (24-hour) such as 06:00",
          )
          .default("06:00"),
        /** Files written per journal entry: qbo-csv, xero-csv, iif and json. Default json. */
        formats: yup
          .array(
            yup
              .string()
              .required()
              .oneOf(
                ["qbo-csv", "xero-csv", "iif", "json"],
                "must be one of: qbo-csv, xero-csv, iif, json",
              ),
          )
          .min(1)
          .default(["json"]),
        /** Finished business dates before today that start-up and the nightly run look back over. Default 7. */
        catchUpDays: yup.number().integer().min(1).max(366).default(7),
        /** Starts CSV files with a UTF-8 byte-order mark, so spreadsheets read accents right. Default true. */
        byteOrderMark: yup.boolean().default(true),
        /** Xero's tax rate name written on every manual journal line. Default "Tax Exempt". */
        xeroTaxRate: yup.string().trim().min(1).default("Tax Exempt"),
        /** Ledger accounts by role: `name` for QuickBooks, `code` for Xero. */
        accounts: yup
          .object({
            /** Card clearing for payment brands not listed in `cardClearingByBrand`. */
            cardClearing: yup
              .object({
                name: yup.string().trim().required(),
                code: yup.string().trim().required(),
              })
              .exact("unknown key ${properties}; allowed: name, code")
              .required(),
            /** Card clearing accounts of single brands, matched case-insensitively (Visa, Amex). */
            cardClearingByBrand: yup
              .array(
                yup
                  .object({
                    brand: yup.string().trim().required(),
                    name: yup.string().trim().required(),
                    code: yup.string().trim().required(),
                  })
                  .exact(
                    "unknown key ${properties}; allowed: brand, name, code",
                  )
                  .required(),
              )
              .default([]),
            sales: yup
              .object({
                name: yup.string().trim().required(),
                code: yup.string().trim().required(),
              })
              .exact("unknown key ${properties}; allowed: name, code")
              .required(),
            discounts: yup
              .object({
                name: yup.string().trim().required(),
                code: yup.string().trim().required(),
              })
              .exact("unknown key ${properties}; allowed: name, code")
              .required(),
            fees: yup
              .object({
                name: yup.string().trim().required(),
                code: yup.string().trim().required(),
              })
              .exact("unknown key ${properties}; allowed: name, code")
              .required(),
            salesTaxPayable: yup
              .object({
                name: yup.string().trim().required(),
                code: yup.string().trim().required(),
              })
              .exact("unknown key ${properties}; allowed: name, code")
              .required(),
            tipsPayable: yup
              .object({
                name: yup.string().trim().required(),
                code: yup.string().trim().required(),
              })
              .exact("unknown key ${properties}; allowed: name, code")
              .required(),
            refunds: yup
              .object({
                name: yup.string().trim().required(),
                code: yup.string().trim().required(),
              })
              .exact("unknown key ${properties}; allowed: name, code")
              .required(),
          })
          .exact(
            "unknown key ${properties}; allowed: cardClearing, cardClearingByBrand, sales, discounts, fees, salesTaxPayable, tipsPayable, refunds",
          )
          .required(),
      })
      .exact(
        "unknown key ${properties}; allowed: enabled, scheduleTime, formats, catchUpDays, byteOrderMark, xeroTaxRate, accounts",
      )
      .optional()
      .default(undefined),
  })
  .test(
    "matching-id",
    "needs bbotRestaurantId, customerId or both, so webhooks can be matched to it",
    (value) =>
      value === undefined ||
      Boolean(value.bbotRestaurantId || value.customerId),
  );

export const configSchema = yup.object({
  /** Folder of the store, exports and the events file. Relative paths start at the working directory. */
  dataDir: yup.string().default("./data"),
  server: yup
    .object({
      /** Largest webhook body accepted, in bytes. Default 10 MiB. */
      bodyLimitBytes: yup
        .number()
        .integer()
        .min(1024)
        .default(10 * 1024 * 1024),
      /** Bytes of a rejected body kept in quarantine. Default 256 KiB. */
      quarantineBodyLimitBytes: yup
        .number()
        .integer()
        .min(0)
        .default(256 * 1024),
      /** Days a quarantined body is kept. Default 30. */
      quarantineRetentionDays: yup.number().integer().min(1).default(30),
    })
    .default(() => ({})),
  store: yup
    .object({
      /** How often the journal is compacted into the partition files, in milliseconds. Default 2,000. */
      compactIntervalMs: yup.number().integer().min(50).default(2_000),
      /** Journal size that starts a compaction before the interval ends, in bytes. Default 16 MiB. */
      journalMaxBytes: yup
        .number()
        .integer()
        .min(1024)
        .default(16 * 1024 * 1024),
      /** Idle time after which a clean partition leaves memory, in milliseconds. Default 60,000. */
      partitionIdleMs: yup.number().integer().min(0).default(60_000),
      /** Days orders and events are kept, by business date, before their files are deleted. Default 90. */
      retentionDays: yup.number().integer().min(1).default(90),
    })
    .default(() => ({})),
  delivery: yup
    .object({
      /** How often the worker looks for due deliveries, in milliseconds. Default 250. */
      pollIntervalMs: yup.number().integer().min(10).default(250),
      /** Days a delivered record is kept before pruning. Dead letters stay until handled. Default 7. */
      retentionDays: yup.number().integer().min(1).default(7),
    })
    .default(() => ({})),
  logging: yup
    .object({
      level: yup
        .string()
        .oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
        .default("info"),
    })
    .default(() => ({})),
  restaurants: yup.array(restaurantSchema.required()).required().min(1),
});

export type BridgeConfig = yup.InferType<typeof configSchema>;
export type RestaurantConfig = yup.InferType<typeof restaurantSchema>;
export type AdapterEntry = yup.InferType<typeof adapterEntrySchema>;
export type RetryPolicy = yup.InferType<typeof retrySchema>;
export type BreakerPolicy = yup.InferType<typeof breakerSchema>;
