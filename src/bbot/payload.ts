import * as yup from "yup";

import "../yup-messages.ts";
import { isTimestamp } from "./timestamps.ts";

/*
 * The schema of Bbot's order-change webhook. It checks what the mapping relies on and lets
 * every other field through untouched, because Bbot adds fields without notice. Money must be
 * an integer number of cents: a string or a fraction is rejected rather than guessed at.
 */

/** Any integer number of cents that a double represents exactly, such as a mod's price. */
const signedCents = () =>
  yup
    .number()
    .strict()
    .typeError("must be an integer number of cents")
    .integer("must be an integer number of cents")
    .test(
      "safe-integer",
      "must be between -9007199254740991 and 9007199254740991 cents",
      (value) =>
        value === undefined ||
        value === null ||
        !Number.isInteger(value) ||
        Number.isSafeInteger(value),
    );

/** Cents of an item or an order total, which a refund lowers but never takes below zero. */
const cents = () => signedCents().min(0, "must not be negative");

const optionalCents = () => cents().nullable().optional();

const timestamp = () =>
  yup
    .string()
    .strict()
    .test(
      "iso-timestamp",
      "must be an ISO 8601 timestamp such as 2021-12-08T00:53:52.057361Z",
      (value) => value === undefined || value === null || isTimestamp(value),
    );

const idString = () =>
  yup
    .string()
    .strict()
    .typeError("must be a string id")
    .matches(/\S/, "must not be empty")
    .max(128, "must be at most 128 characters")
    .matches(/^\P{Cc}*$/u, "must not contain control characters");

const modSchema = yup.object({
  id: yup.string().nullable().optional(),
  name: yup.string().nullable().optional(),
  pretax_cents: signedCents().nullable().optional(),
  tax_cents: signedCents().nullable().optional(),
  orig_pretax_cents: signedCents().nullable().optional(),
});

const itemSchema = yup.object({
  id: idString().required(),
  menuitem_id: yup.string().nullable().optional(),
  name_when_purchased: yup.string().nullable().optional(),
  mods: yup.array(modSchema).nullable().optional(),
  special_instructions: yup.string().nullable().optional(),
  pretax_cents: cents().required(),
  tax_cents: cents().required(),
  tip_in_cents: optionalCents(),
  orig_pretax_cents: optionalCents(),
  status: yup.string().nullable().optional(),
  tags: yup.array().nullable().optional(),
});

const promotionSchema = yup.object({
  id: yup.string().nullable().optional(),
  name_for_owner: yup.string().nullable().optional(),
  promo_type: yup.string().nullable().optional(),
});

const orderSchema = yup.object({
  id: idString().required(),
  restaurant_id: idString().required(),
  table: yup
    .object({
      id: yup.string().nullable().optional(),
      display_name: yup.string().nullable().optional(),
      short_id: yup.string().nullable().optional(),
    })
    .nullable()
    .optional(),
  fulfillment_method: yup.string().nullable().optional(),
  orderNumberToday: yup.number().strict().integer().nullable().optional(),
  items: yup.array(itemSchema.required()).required(),
  time: timestamp().required(),
  last_modified: timestamp().required(),
  time_closed: timestamp().nullable().optional(),
  user_desired_time: timestamp().nullable().optional(),
  checkout_id: yup.string().nullable().optional(),
  mobile: yup.string().nullable().optional(),
  guest_id: yup.string().nullable().optional(),
  guest_email: yup.string().nullable().optional(),
  guest_name: yup.string().nullable().optional(),
  guest_first_name: yup.string().nullable().optional(),
  guest_last_name: yup.string().nullable().optional(),
  pretax_cents: cents().required(),
  tax_cents: cents().required(),
  tip_cents: cents().required(),
  fee_pretax_cents: optionalCents(),
  total_cents: cents().required(),
  fees_on_my_receipt: yup.array().nullable().optional(),
  loyalty_webhook_discounts: yup
    .array(yup.object({ promotion: promotionSchema.nullable().optional() }))
    .nullable()
    .optional(),
  charge: yup
    .object({
      brand: yup.string().nullable().optional(),
      last4: yup.string().nullable().optional(),
      funding: yup.string().nullable().optional(),
      amount: optionalCents(),
    })
    .nullable()
    .optional(),
});

/** The webhook's top-level ids, which the integrator chose: a string or an integer. */
const integratorId = () =>
  yup
    .mixed<string | number>()
    .test(
      "id",
      "must be a string or integer id",
      (value) =>
        value === undefined ||
        value === null ||
        typeof value === "string" ||
        Number.isInteger(value),
    )
    .nullable()
    .optional();

export const webhookSchema = yup.object({
  restaurant_id: integratorId(),
  order_id: integratorId(),
  order: orderSchema.required(),
});

export type BbotWebhook = yup.InferType<typeof webhookSchema>;
export type BbotOrder = BbotWebhook["order"];
export type BbotItem = BbotOrder["items"][number];

/** One failed rule of the webhook schema, with the JSON path of the field. */
export interface FieldProblem {
  path: string;
  message: string;
}

/**
 * Validates a parsed webhook body. Returns the typed payload or every failing field with its path.
 */
export function validateWebhook(
  body: unknown,
):
  { ok: true; payload: BbotWebhook } | { ok: false; problems: FieldProblem[] } {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return {
      ok: false,
      problems: [
        {
          path: "",
          message:
            'must be a JSON object with the order under "order", as Bbot sends it',
        },
      ],
    };
  }

  try {
    // Strict: the body is checked as it is and never cast, which also skips copying it.
    const payload = webhookSchema.validateSync(body, {
      abortEarly: false,
      stripUnknown: false,
      strict: true,
    });
    return { ok: true, payload };
  } catch (error) {
    if (!(error instanceof yup.ValidationError)) throw error;
    const inner = error.inner.length > 0 ? error.inner : [error];
    const problems = inner.map((item) => ({
      path: item.path ?? "",
      message: item.message.startsWith(`${item.path} `)
        ? item.message.slice((item.path ?? "").length + 1)
        : item.message,
    }));
    return { ok: false, problems };
  }
}
