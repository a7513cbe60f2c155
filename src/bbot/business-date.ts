const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Returns the local calendar date (`YYYY-MM-DD`) and hour of an instant in a time zone. */
export function localDateHour(
  epochMs: number,
  timeZone: string,
): { date: string; hour: number } {
  const parts = formatterFor(timeZone).formatToParts(epochMs);
  const get = (type: string) =>
    parts.find((part) => part.type === type)?.value ?? "";
  return {
    date: `${get("year")}-${get("month")}-${get("day")}`,
    hour: Number(get("hour")),
  };
}

/**
 * Returns the business date of an instant: the local date, or the day before when the local
 * hour is earlier than the cutoff. The local time comes from the time zone database, so on
 * DST days (23 or 25 hours long) an order at 01:30 local still lands on the right date.
 */
export function businessDateOf(
  epochMs: number,
  timeZone: string,
  cutoffHour: number,
): string {
  const local = localDateHour(epochMs, timeZone);
  return local.hour < cutoffHour ? shiftDate(local.date, -1) : local.date;
}

/** Adds whole days to a `YYYY-MM-DD` date. */
export function shiftDate(date: string, days: number): string {
  const utc = Date.parse(`${date}T00:00:00Z`) + days * 86_400_000;
  return new Date(utc).toISOString().slice(0, 10);
}

/** Tells whether a string is a real `YYYY-MM-DD` calendar date. */
export function isCalendarDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const parsed = Date.parse(`${text}T00:00:00Z`);
  return (
    !Number.isNaN(parsed) &&
    new Date(parsed).toISOString().slice(0, 10) === text
  );
}
