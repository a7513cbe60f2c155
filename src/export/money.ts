/**
 * Renders integer cents as a decimal amount with two places, such as 3078 as "30.78" and
 * -5 as "-0.05". Integer division and padding only, so no floating-point rounding can creep
 * into an amount. Throws a RangeError for anything but a safe integer.
 */
export function formatCents(cents: number): string {
  if (!Number.isSafeInteger(cents)) {
    throw new RangeError(
      `amount must be a safe integer number of cents, got ${cents}`,
    );
  }

  const sign = cents < 0 ? "-" : "";
  const magnitude = Math.abs(cents);
  const units = (magnitude - (magnitude % 100)) / 100;
  const fraction = String(magnitude % 100).padStart(2, "0");
  return `${sign}${units}.${fraction}`;
}
