/** A failure that may succeed on a later attempt: network errors, timeouts, 408, 425, 429, 5xx. */
export class TransientDeliveryError extends Error {
  override readonly name = "TransientDeliveryError";

  constructor(
    message: string,
    readonly details: FailureDetails = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A failure that no retry can fix, such as a 400 or Slack's `channel_not_found`. */
export class PermanentDeliveryError extends Error {
  override readonly name = "PermanentDeliveryError";

  constructor(
    message: string,
    readonly details: FailureDetails = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Details a delivery record keeps of a failed attempt. */
export interface FailureDetails {
  /** HTTP status of the destination's response, when there was one. */
  status?: number;
  /** The first bytes of the response body, with secrets removed. */
  bodyExcerpt?: string;
  /** Delay the destination asked for (from `Retry-After`), in milliseconds. */
  retryAfterMs?: number;
}

const RETRYABLE_STATUS = new Set([408, 425, 429]);

/** Tells whether an HTTP status is worth retrying. */
export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status) || status >= 500;
}

/**
 * Parses a `Retry-After` header (delay in seconds or an HTTP date) into milliseconds from `now`.
 * Returns undefined for a missing or unreadable value.
 */
export function parseRetryAfter(
  header: unknown,
  now: number,
): number | undefined {
  if (typeof header !== "string" || header.trim() === "") return undefined;

  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;

  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

const SECRET_PATTERNS: RegExp[] = [
  /xox[abposr]-[A-Za-z0-9-]+/g,
  // An auth scheme word (`Bearer abc`) is taken with its credential, so the credential is masked too.
  /(authorization|token|secret|password|api[_-]?key)(["'\s:=]+)(?:(?:bearer|basic|token)\s+)?[^"'\s,}]+/gi,
  /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/]+/g,
];

/** Cuts a response body to `limit` characters and masks tokens and credentials in it. */
export function excerptBody(body: unknown, limit = 300): string {
  let text: string;
  if (typeof body === "string") text = body;
  else if (body === undefined || body === null) text = "";
  else {
    try {
      text = JSON.stringify(body);
    } catch {
      text = String(body);
    }
  }

  for (const pattern of SECRET_PATTERNS) {
    // Patterns without groups pass the match offset as the second argument, hence the type checks.
    text = text.replace(pattern, (_match, key: unknown, separator: unknown) =>
      typeof key === "string" && typeof separator === "string"
        ? `${key}${separator}[redacted]`
        : "[redacted]",
    );
  }
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}
