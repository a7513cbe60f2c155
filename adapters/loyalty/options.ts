import * as yup from "yup";

const ALLOWED_KEYS =
  "mode, baseUrl, creditOn, identifyBy, defaultCountryCode, pointsPerUnit, accessToken, locationId, allowNegativeBalance";

/** Tells whether a string parses as an absolute http or https URL. */
export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

export const loyaltyOptionsSchema = yup
  .object({
    /**
     * Request shapes: `generic` posts this service's own JSON contract to `{baseUrl}/transactions`;
     * `square` calls Square Loyalty's search, accumulate and adjust endpoints. Default `generic`.
     */
    mode: yup
      .string()
      .oneOf(["generic", "square"] as const, "must be generic or square")
      .default("generic"),
    /** The provider's base URL without a trailing slash, such as `https://connect.squareup.com`. Required. */
    baseUrl: yup
      .string()
      .trim()
      .required()
      .test("http-url", "must be an http or https URL", (value) =>
        value === undefined ? true : isHttpUrl(value),
      )
      .transform((value: unknown) =>
        typeof value === "string" ? value.replace(/\/+$/, "") : value,
      ),
    /** The event that credits points: `closed` (order.closed) or `created` (order.created, paid at placing). Default `closed`. */
    creditOn: yup
      .string()
      .oneOf(["closed", "created"] as const, "must be closed or created")
      .default("closed"),
    /**
     * The guest field that identifies the loyalty account: `phone` (sent as E.164), `email` or
     * `guestId` (Bbot's guest id). The entry's `personalData` must list the same field, because
     * the engine removes it otherwise. Default `phone`.
     */
    identifyBy: yup
      .string()
      .oneOf(
        ["phone", "email", "guestId"] as const,
        "must be phone, email or guestId",
      )
      .default("phone"),
    /** Country calling code, digits only (`1` for US), added to phone numbers written without one. No default. */
    defaultCountryCode: yup
      .string()
      .trim()
      .matches(/^[1-9]\d{0,2}$/, "must be 1 to 3 digits, such as 1 or 44")
      .optional(),
    /** Points per currency unit of eligible spend (1 = one point per dollar), an integer. Default 1. */
    pointsPerUnit: yup.number().integer().min(1).max(10_000).default(1),
    /** Square access token, sent as a Bearer token. Required in square mode. */
    accessToken: yup
      .string()
      .trim()
      .when("mode", {
        is: "square",
        then: (schema) => schema.required("is required in square mode"),
      }),
    /** Square location id of the restaurant, sent with each accumulate call. Required in square mode. */
    locationId: yup
      .string()
      .trim()
      .when("mode", {
        is: "square",
        then: (schema) => schema.required("is required in square mode"),
      }),
    /** Square only: let a reversal take an account below zero instead of failing with 400. Default false. */
    allowNegativeBalance: yup.boolean().default(false),
  })
  // `exact` rejects unknown keys; yup's `noUnknown` would strip them without an error.
  .exact(`unknown key \${properties}; allowed: ${ALLOWED_KEYS}`)
  .test(
    "square-needs-phone",
    "identifyBy must be phone in square mode, because Square maps loyalty accounts by phone number",
    (value) =>
      value === undefined ||
      value.mode !== "square" ||
      value.identifyBy === "phone",
  );

export type LoyaltyOptions = yup.InferType<typeof loyaltyOptionsSchema>;
