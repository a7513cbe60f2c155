/**
 * Text helpers for Slack messages: money from integer cents, local times, and the escaping
 * Slack's mrkdwn needs. Everything here is pure.
 */

/**
 * Formats an amount in the currency's minor unit (cents for USD and EUR, yen for JPY) for a
 * locale, such as 3078 → "$30.78" in en-US or "30,78 €" in de-DE.
 *
 * The digits are built from integers: Intl only supplies the layout (symbol position,
 * separators, sign) from a template amount and groups the integer major part, so no
 * fractional number is ever formatted.
 */
export function formatMoney(
  cents: number,
  currency: string,
  locale: string,
): string {
  if (!Number.isSafeInteger(cents)) {
    throw new RangeError(`amount must be integer cents, received ${cents}`);
  }

  const layout = new Intl.NumberFormat(locale, {
    style: "currency",
    currency,
  });
  const fractionDigits = layout.resolvedOptions().maximumFractionDigits ?? 2;
  const scale = 10 ** fractionDigits;
  const magnitude = Math.abs(cents);
  const major = Math.trunc(magnitude / scale);
  const minor = String(magnitude % scale).padStart(fractionDigits, "0");
  const groupedMajor = new Intl.NumberFormat(locale, {
    maximumFractionDigits: 0,
  }).format(major);

  const template = layout.formatToParts(cents < 0 ? -1 : 1);
  return template
    .map((part) => {
      if (part.type === "integer") return groupedMajor;
      if (part.type === "fraction") return minor;
      return part.value;
    })
    .join("");
}

/** Formats an ISO 8601 instant as a local date and time, or returns it unchanged if unreadable. */
export function formatLocalTime(
  iso: string,
  locale: string,
  timeZone: string,
): string {
  const instant = Date.parse(iso);
  if (Number.isNaN(instant)) return iso;

  return new Intl.DateTimeFormat(locale, {
    timeZone,
    dateStyle: "medium",
    timeStyle: "short",
  }).format(instant);
}

/**
 * Escapes the three characters Slack's mrkdwn treats as control characters (`&`, `<`, `>`),
 * so a guest's or menu's text cannot form links or mentions. Other characters, unicode
 * included, pass unchanged.
 */
export function escapeText(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;");
}

/**
 * Cuts text to at most `max` UTF-16 code units, ending with "…" when cut. It never splits a
 * surrogate pair, so emoji survive whole or not at all.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;

  let end = Math.max(0, max - 1);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** Turns a machine word such as `runner_with_cc` or `en_route` into "Runner with cc" or "En route". */
export function humanize(word: string): string {
  const spaced = word.replace(/[_-]+/g, " ").trim();
  if (spaced === "") return word;
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}
