import * as yup from "yup";

import { decodeSecret } from "./signature.ts";

const ALLOWED_KEYS = "url, secrets, items, mods";

// Shorter keys are rejected as too weak to sign with. The 24-byte minimum is this adapter's choice.
const MIN_KEY_BYTES = 24;

/** Tells whether a string parses as an absolute http or https URL. */
function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/** Builds the schema of a table from Bbot ids to POS item codes (PLUs), both non-empty strings. */
function pluTable(name: string) {
  return yup
    .mixed<Record<string, string>>()
    .default(() => ({}))
    .test(
      "plu-table",
      `must be an object mapping each Bbot ${name} id to a non-empty POS code (PLU) string`,
      (value) =>
        value === undefined ||
        (typeof value === "object" &&
          value !== null &&
          !Array.isArray(value) &&
          Object.values(value).every(
            (code) => typeof code === "string" && code.trim() !== "",
          )),
    );
}

export const posOptionsSchema = yup
  .object({
    /** The POS endpoint every forwarded event is POSTed to. Required. */
    url: yup
      .string()
      .trim()
      .required()
      .test("http-url", "must be an http or https URL", (value) =>
        value === undefined ? true : isHttpUrl(value),
      ),
    /**
     * Standard Webhooks signing secrets, `whsec_<base64 key>`. Each request carries one
     * signature per secret, so during a rotation list both the old and the new. Required, at least one.
     */
    secrets: yup
      .array(
        yup
          .string()
          .required()
          .test(
            "whsec",
            `must be whsec_ followed by the base64 of a key of at least ${MIN_KEY_BYTES} bytes`,
            (value) => (decodeSecret(value)?.length ?? 0) >= MIN_KEY_BYTES,
          ),
      )
      .required()
      .min(1, "must list at least one secret"),
    /** POS item code (PLU) by Bbot menu item id (`item.menuItemId`). Default empty. */
    items: pluTable("menu item"),
    /** POS item code (PLU) by Bbot mod id (`mod.modId`). Default empty. */
    mods: pluTable("mod"),
  })
  // `exact` rejects unknown keys; yup's `noUnknown` would strip them without an error.
  .exact(`unknown key \${properties}; allowed: ${ALLOWED_KEYS}`);

export type PosOptions = yup.InferType<typeof posOptionsSchema>;
