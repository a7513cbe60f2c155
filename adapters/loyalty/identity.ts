import type { CanonicalOrder } from "../../src/orders/model.ts";
import type { LoyaltyOptions } from "./options.ts";

/** The guest identifier a loyalty request carries, by the option that chose it. */
export type GuestIdentifier =
  | { kind: "phone"; value: string }
  | { kind: "email"; value: string }
  | { kind: "guestId"; value: string };

/** An identifier, or the reason an order has none. Reasons never contain the guest's data. */
export type IdentifierResult =
  { ok: true; identifier: GuestIdentifier } | { ok: false; reason: string };

const PHONE_CHARACTERS = /^\+?[\d\s().-]+$/;
const NANP_NUMBER = /^[2-9]\d{2}[2-9]\d{6}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

// E.164 allows at most 15 digits. The minimum of 7 is a plausibility check, not an E.164 rule.
const MIN_E164_DIGITS = 7;
const MAX_E164_DIGITS = 15;

/**
 * Normalizes a phone number to E.164 (`+` and digits). Numbers written with `+` or `00` keep
 * their country code; other numbers get `defaultCountryCode`, after one national trunk `0` is
 * dropped. For country code 1 the national number must be a 10-digit NANP number, with an
 * optional leading 1. Returns null for letters, stray symbols or an impossible length.
 */
export function toE164(
  raw: string,
  defaultCountryCode: string | undefined,
): string | null {
  const trimmed = raw.trim();
  if (!PHONE_CHARACTERS.test(trimmed) || trimmed.lastIndexOf("+") > 0)
    return null;

  const digits = trimmed.replace(/\D/g, "");
  if (trimmed.startsWith("+")) return e164OrNull(digits);
  if (digits.startsWith("00")) return e164OrNull(digits.slice(2));
  if (defaultCountryCode === undefined) return null;

  if (defaultCountryCode === "1") {
    const national =
      digits.length === 11 && digits.startsWith("1") ? digits.slice(1) : digits;
    return NANP_NUMBER.test(national) ? `+1${national}` : null;
  }

  // NOTE: numbers of countries that keep the leading 0 after the country code (Italy's
  // landlines, for example) must be stored with their `+` prefix, or they lose that 0 here.
  const national = digits.startsWith("0") ? digits.slice(1) : digits;
  return e164OrNull(`${defaultCountryCode}${national}`);
}

function e164OrNull(digits: string): string | null {
  if (digits.startsWith("0")) return null;
  if (digits.length < MIN_E164_DIGITS || digits.length > MAX_E164_DIGITS)
    return null;
  return `+${digits}`;
}

/** Trims and lowercases an e-mail address, or returns null when it does not look like one. */
export function normalizeEmail(raw: string): string | null {
  const email = raw.trim().toLowerCase();
  return email.length <= 254 && EMAIL.test(email) ? email : null;
}

/**
 * Picks the guest identifier the options ask for from an order. An order whose guest data is
 * absent, redacted by the engine or invalid gets a reason instead.
 */
export function guestIdentifierOf(
  order: CanonicalOrder,
  options: Pick<LoyaltyOptions, "identifyBy" | "defaultCountryCode">,
): IdentifierResult {
  const field = options.identifyBy;
  const raw = order.guest?.[field];
  if (raw === null || raw === undefined || raw.trim() === "") {
    return {
      ok: false,
      reason: `the order has no guest ${field}: absent, or not listed in the entry's personalData`,
    };
  }

  if (field === "phone") {
    const phone = toE164(raw, options.defaultCountryCode);
    if (phone === null)
      return {
        ok: false,
        reason:
          "the guest phone is not a valid phone number for E.164 (set defaultCountryCode for numbers without a country code)",
      };
    return { ok: true, identifier: { kind: "phone", value: phone } };
  }

  if (field === "email") {
    const email = normalizeEmail(raw);
    if (email === null)
      return { ok: false, reason: "the guest email is not a valid address" };
    return { ok: true, identifier: { kind: "email", value: email } };
  }

  return { ok: true, identifier: { kind: "guestId", value: raw.trim() } };
}
