/** ISO 8601 date-time with an optional fraction of up to 9 digits and a `Z` or `±hh:mm` offset. */
export const ISO_TIMESTAMP =
  /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Converts an ISO 8601 timestamp to nanoseconds since the epoch as a bigint, so that Bbot's
 * microseconds survive: a JavaScript `Date` keeps only milliseconds.
 * Returns undefined when the text is not a valid timestamp.
 */
export function toEpochNanos(text: string): bigint | undefined {
  const match = ISO_TIMESTAMP.exec(text);
  if (!match) return undefined;

  const [, date, hours, minutes, seconds, fraction = "", zone] = match;
  const wholeSeconds = Date.parse(
    `${date}T${hours}:${minutes}:${seconds}${zone === "Z" ? "Z" : normalizeOffset(zone!)}`,
  );
  if (Number.isNaN(wholeSeconds)) return undefined;

  const nanos = BigInt(fraction.padEnd(9, "0"));
  return BigInt(wholeSeconds) * 1_000_000n + nanos;
}

function normalizeOffset(offset: string): string {
  return offset.includes(":")
    ? offset
    : `${offset.slice(0, 3)}:${offset.slice(3)}`;
}

/** Compares two ISO 8601 timestamps at nanosecond precision: negative, zero or positive. */
export function compareTimestamps(a: string, b: string): number {
  const left = toEpochNanos(a);
  const right = toEpochNanos(b);
  if (left === undefined || right === undefined) {
    throw new RangeError(
      `cannot compare timestamps ${JSON.stringify(a)} and ${JSON.stringify(b)}`,
    );
  }
  if (left === right) return 0;
  return left < right ? -1 : 1;
}

/** Tells whether a string is an ISO 8601 timestamp this service can compare. */
export function isTimestamp(text: string): boolean {
  return toEpochNanos(text) !== undefined;
}
