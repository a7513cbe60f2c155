import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { businessDateOf } from "../../src/bbot/business-date.ts";
import { mapOrder } from "../../src/bbot/map.ts";
import { validateWebhook, type BbotWebhook } from "../../src/bbot/payload.ts";
import {
  configSchema,
  type RestaurantConfig,
} from "../../src/config/schema.ts";
import { detectChanges } from "../../src/orders/diff.ts";
import { stableId, type OrderEvent } from "../../src/orders/events.ts";
import {
  addComponents,
  ZERO_COMPONENTS,
  type CanonicalOrder,
} from "../../src/orders/model.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));

/** Returns the demo restaurant of the default config, as tests use it. */
export function demoRestaurant(
  overrides: Record<string, unknown> = {},
): RestaurantConfig {
  const config = configSchema.validateSync({
    restaurants: [
      {
        id: "demo",
        name: "Demo Bistro",
        bbotRestaurantId: "ecde3351-606c-4971-ab5a-792bccb0e5e2",
        timeZone: "America/New_York",
        auth: { username: "demo", password: "demo" },
        ...overrides,
      },
    ],
  });
  return config.restaurants[0]!;
}

/** Reads a JSON fixture, such as `sample-order.json` or `lifecycle/05-partial-refund.json`. */
export function readFixture(name: string): BbotWebhook {
  return JSON.parse(readFileSync(`${FIXTURES}${name}`, "utf8")) as BbotWebhook;
}

/** Returns the sample order's lifecycle snapshots in order: placed, accepted, ready, delivered, refund, closed. */
export function lifecycleSnapshots(): BbotWebhook[] {
  return readdirSync(`${FIXTURES}lifecycle`)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => readFixture(`lifecycle/${name}`));
}

/** Maps one snapshot onto the canonical order of the demo restaurant. */
export function canonicalOf(
  payload: BbotWebhook,
  restaurant = demoRestaurant(),
): CanonicalOrder {
  const checked = validateWebhook(payload);
  if (!checked.ok)
    throw new Error(`invalid fixture: ${JSON.stringify(checked.problems)}`);
  return mapOrder(checked.payload, restaurant);
}

/**
 * Runs snapshots through mapping and change detection, without a store or a server, and
 * returns every event with the full canonical order (guest data included). `detectedAt`
 * defaults to each snapshot's `last_modified`.
 */
export function eventsOf(
  snapshots: BbotWebhook[],
  restaurant = demoRestaurant(),
): OrderEvent[] {
  const events: OrderEvent[] = [];
  let previous: CanonicalOrder | undefined;
  let refunded = ZERO_COMPONENTS;

  for (const snapshot of snapshots) {
    const order = canonicalOf(snapshot, restaurant);
    const detectedAt = order.modifiedAt;
    const detectedBusinessDate = businessDateOf(
      Date.parse(detectedAt),
      restaurant.timeZone,
      restaurant.businessDayCutoffHour,
    );
    for (const change of detectChanges(previous, order, refunded)) {
      const event = {
        id: stableId(
          "evt",
          order.orderId,
          order.modifiedAt,
          change.type,
          change.subject,
        ),
        type: change.type,
        restaurantId: restaurant.id,
        orderId: order.orderId,
        revision: order.modifiedAt,
        sequence: events.length + 1,
        occurredAt: order.modifiedAt,
        detectedAt,
        detectedBusinessDate,
        order,
        change: change.change,
      } as OrderEvent;
      events.push(event);
      if (change.type === "order.refunded") {
        const amount = change.change;
        refunded = addComponents(refunded, amount);
      }
    }
    previous = order;
  }
  return events;
}

/** Returns the sample lifecycle's events of one type. */
export function sampleEvents<T extends OrderEvent["type"]>(
  type: T,
): OrderEvent<T>[] {
  return eventsOf(lifecycleSnapshots()).filter(
    (event): event is OrderEvent<T> => event.type === type,
  );
}
