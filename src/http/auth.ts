import { createHash, timingSafeEqual } from "node:crypto";

import type { RestaurantConfig } from "../config/schema.ts";

/**
 * Compares two secrets in constant time. Both sides are hashed first, so neither their
 * lengths nor their first differing byte change how long the comparison takes.
 */
export function safeEqual(
  given: Buffer | string,
  expected: Buffer | string,
): boolean {
  const left = createHash("sha256").update(given).digest();
  const right = createHash("sha256").update(expected).digest();
  return timingSafeEqual(left, right);
}

/**
 * Returns the restaurants whose Basic credentials match the `Authorization` header. The
 * header's bytes are compared as sent with each restaurant's `user:password`, all of them,
 * so the time taken does not tell which restaurant, or which part, was close.
 */
export function authenticatedRestaurants(
  header: string | undefined,
  restaurants: readonly RestaurantConfig[],
): RestaurantConfig[] {
  if (!header) return [];
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return [];

  const given = Buffer.from(match[1]!, "base64");
  const matched: RestaurantConfig[] = [];
  for (const restaurant of restaurants) {
    const expected = Buffer.from(
      `${restaurant.auth.username}:${restaurant.auth.password}`,
      "utf8",
    );
    if (safeEqual(given, expected)) matched.push(restaurant);
  }
  return matched;
}

/** Checks an admin `Authorization: Bearer` header against the configured token. */
export function isAdminAuthorized(
  header: string | undefined,
  token: string,
): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match !== null && safeEqual(match[1]!, token);
}
