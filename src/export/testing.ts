import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { validateWebhook, type BbotWebhook } from "../bbot/payload.ts";
import type { RestaurantConfig } from "../config/schema.ts";
import { OrderIngestor } from "../orders/ingest.ts";
import { FileStore } from "../store/store.ts";
import { readFixture } from "../../test/helpers/sample-events.ts";

/*
 * Builders shared by the export tests: a real file store in a temporary folder, a clock the
 * test moves, and Bbot payloads made from the sample order with chosen amounts and times.
 */

/** A clock the test sets; every store write and detection reads it. */
export class TestClock {
  constructor(public time: number) {}

  now(): number {
    return this.time;
  }

  set(iso: string): void {
    this.time = Date.parse(iso);
  }
}

/** A file store in a fresh temporary folder, opened, with an ingestor that plans no delivery. */
export interface TestStore {
  dataDir: string;
  store: FileStore;
  clock: TestClock;
  ingestor: OrderIngestor;
  /** Ingests a payload as received at `receivedAt` (ISO), the refund detection time. */
  receive(
    payload: BbotWebhook,
    restaurant: RestaurantConfig,
    receivedAt: string,
  ): Promise<void>;
  close(): Promise<void>;
}

/** Opens a test store; call `close` in a `finally` or `after`. */
export async function openTestStore(): Promise<TestStore> {
  const dataDir = await mkdtemp(join(tmpdir(), "bbot-export-"));
  const clock = new TestClock(Date.parse("2021-01-01T00:00:00Z"));
  const store = new FileStore({
    dataDir,
    compactIntervalMs: 1000,
    journalMaxBytes: 1 << 20,
    partitionIdleMs: 60000,
    clock,
  });
  await store.open();
  const ingestor = new OrderIngestor(
    store,
    { plan: () => [], committed: () => {} },
    clock,
  );

  return {
    dataDir,
    store,
    clock,
    ingestor,
    async receive(payload, restaurant, receivedAt) {
      clock.set(receivedAt);
      const checked = validateWebhook(payload);
      if (!checked.ok)
        throw new Error(`invalid payload: ${JSON.stringify(checked.problems)}`);
      await ingestor.ingest(checked.payload, restaurant);
    },
    async close() {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** One item of a generated order, in cents. */
export interface ItemSpec {
  pretaxCents: number;
  taxCents: number;
  tipCents: number;
  /** List price before a promotion; the difference is the item's discount. */
  originalPretaxCents?: number;
}

/** A generated order: id, placement time, items and how it was paid and fulfilled. */
export interface OrderSpec {
  id: string;
  placedAt: string;
  modifiedAt?: string;
  items: ItemSpec[];
  feeCents?: number;
  brand?: string | null;
  fulfillmentMethod?: string;
}

/**
 * Builds a Bbot webhook from the sample order with the spec's items and times. The order's
 * totals are the sums of its items, so Bbot's identities hold.
 */
export function orderPayload(spec: OrderSpec): BbotWebhook {
  const payload = readFixture("sample-order.json");
  const template = payload.order.items[0]!;
  const order = payload.order;
  const items = spec.items.map((item, index) => ({
    ...template,
    id: `${spec.id}-item-${index}`,
    order_id: spec.id,
    mods: [],
    pretax_cents: item.pretaxCents,
    tax_cents: item.taxCents,
    tip_in_cents: item.tipCents,
    orig_pretax_cents: item.originalPretaxCents ?? item.pretaxCents,
  }));
  const sum = (pick: (item: ItemSpec) => number) =>
    spec.items.reduce((total, item) => total + pick(item), 0);
  const fee = spec.feeCents ?? 0;

  order.id = spec.id;
  order.items = items as typeof order.items;
  order.time = spec.placedAt;
  order.last_modified = spec.modifiedAt ?? spec.placedAt;
  order.pretax_cents = sum((item) => item.pretaxCents);
  order.tax_cents = sum((item) => item.taxCents);
  order.tip_cents = sum((item) => item.tipCents);
  order.fee_pretax_cents = fee;
  order.total_cents =
    order.pretax_cents + order.tax_cents + order.tip_cents + fee;
  order.fulfillment_method = spec.fulfillmentMethod ?? "runner_with_cc";
  if (spec.brand === null) order.charge = null;
  else if (order.charge) {
    order.charge = {
      ...order.charge,
      brand: spec.brand ?? "Visa",
      amount: order.total_cents,
    };
  }
  return payload;
}

/** Builds the snapshot after refunding the items at `indexes`: they leave the order. */
export function refundPayload(
  spec: OrderSpec,
  indexes: readonly number[],
  modifiedAt: string,
): BbotWebhook {
  const kept = spec.items.filter((_item, index) => !indexes.includes(index));
  const payload = orderPayload({ ...spec, items: kept, modifiedAt });
  const removed = new Set(indexes.map((index) => `${spec.id}-item-${index}`));
  // Item ids must stay those of the original snapshot.
  payload.order.items = orderPayload(spec).order.items.filter(
    (item) => !removed.has(item.id),
  );
  return payload;
}

/** Returns the export accounts the tests configure. */
export function testAccounts() {
  const account = (name: string, code: string) => ({ name, code });
  return {
    cardClearing: account("Card Clearing", "1200"),
    cardClearingByBrand: [],
    sales: account("Sales", "4000"),
    discounts: account("Discounts", "4100"),
    fees: account("Service Fees", "4200"),
    salesTaxPayable: account("Sales Tax Payable", "2200"),
    tipsPayable: account("Tips Payable", "2300"),
    refunds: account("Refunds", "4300"),
  };
}
