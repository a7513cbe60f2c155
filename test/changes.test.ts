import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { BbotWebhook } from "../src/bbot/payload.ts";
import {
  eventsOf,
  lifecycleSnapshots,
  readFixture,
} from "./helpers/sample-events.ts";

type Mutable = {
  order: Record<string, unknown> & { items: Record<string, unknown>[] };
};

function sample(): Mutable {
  return structuredClone(
    readFixture("sample-order.json"),
  ) as unknown as Mutable;
}

function next(
  previous: Mutable,
  lastModified: string,
  change: (order: Mutable["order"]) => void,
): Mutable {
  const copy = structuredClone(previous);
  copy.order.last_modified = lastModified;
  change(copy.order);
  return copy;
}

const typesOf = (snapshots: Mutable[]) =>
  eventsOf(snapshots as unknown as BbotWebhook[]).map((event) => event.type);

describe("change detection", () => {
  it("first snapshot of a closed order replays its path", () => {
    const closed = next(sample(), "2021-12-08T02:00:00.000001Z", (order) => {
      for (const item of order.items) item.status = "delivered";
      order.time_closed = "2021-12-08T02:00:00.000001Z";
    });
    assert.deepEqual(typesOf([closed]), [
      "order.created",
      "order.item_status_changed",
      "order.item_status_changed",
      "order.status_changed",
      "order.closed",
    ]);
  });

  it("first snapshot with a refunded item yields the refund", () => {
    const refunded = next(sample(), "2021-12-08T02:00:00.000001Z", (order) => {
      order.items[1]!.status = "refunded";
      order.pretax_cents = 1194;
      order.tax_cents = 106;
      order.tip_cents = 239;
      order.total_cents = 1539;
    });
    const events = eventsOf([refunded as unknown as BbotWebhook]);
    const refund = events.find((event) => event.type === "order.refunded");
    assert.ok(refund, "no order.refunded event");
    assert.equal(events[0]!.type, "order.created");
    const change = refund.change as {
      pretaxCents: number;
      taxCents: number;
      tipCents: number;
      totalCents: number;
    };
    assert.equal(change.pretaxCents, 1194);
    assert.equal(change.taxCents, 106);
    assert.equal(change.tipCents, 239);
    assert.equal(change.totalCents, 1539);
  });

  it("partial then full refund add up to the order", () => {
    const placed = sample();
    const partial = next(placed, "2021-12-08T01:00:00.000001Z", (order) => {
      order.items = order.items.slice(0, 1);
      order.pretax_cents = 1194;
      order.tax_cents = 106;
      order.tip_cents = 239;
      order.total_cents = 1539;
    });
    const full = next(partial, "2021-12-08T01:10:00.000001Z", (order) => {
      order.items = [];
      order.pretax_cents = 0;
      order.tax_cents = 0;
      order.tip_cents = 0;
      order.total_cents = 0;
    });

    const refunds = eventsOf([
      placed,
      partial,
      full,
    ] as unknown as BbotWebhook[])
      .filter((event) => event.type === "order.refunded")
      .map(
        (event) =>
          event.change as {
            totalCents: number;
            pretaxCents: number;
            cumulative: { totalCents: number };
          },
      );
    assert.equal(refunds.length, 2);
    assert.equal(refunds[0]!.totalCents, 1539);
    assert.equal(refunds[1]!.totalCents, 1539);
    assert.equal(refunds[0]!.totalCents + refunds[1]!.totalCents, 3078);
    assert.equal(refunds[0]!.pretaxCents + refunds[1]!.pretaxCents, 2388);
    assert.equal(refunds[1]!.cumulative.totalCents, 3078);
  });

  it("refund by amount refunds sales and tip separately", () => {
    const placed = sample();
    const refunded = next(placed, "2021-12-08T01:00:00.000001Z", (order) => {
      order.pretax_cents = 2000;
      order.tax_cents = 178;
      order.tip_cents = 400;
      order.total_cents = 2578;
    });
    const refund = eventsOf([
      placed,
      refunded,
    ] as unknown as BbotWebhook[]).find(
      (event) => event.type === "order.refunded",
    )!;
    const change = refund.change as {
      pretaxCents: number;
      taxCents: number;
      tipCents: number;
      totalCents: number;
    };
    assert.deepEqual(
      [change.pretaxCents, change.taxCents, change.tipCents, change.totalCents],
      [388, 34, 78, 500],
    );
  });

  it("reopening and closing again are events", () => {
    const placed = sample();
    const closed = next(placed, "2021-12-08T01:00:00.000001Z", (order) => {
      order.time_closed = "2021-12-08T01:00:00.000001Z";
    });
    const reopened = next(closed, "2021-12-08T01:05:00.000001Z", (order) => {
      order.time_closed = null;
    });
    assert.deepEqual(typesOf([placed, closed, reopened]), [
      "order.created",
      "order.closed",
      "order.reopened",
    ]);
  });

  it("tip raised after the meal is a tip change", () => {
    const placed = sample();
    const tipped = next(placed, "2021-12-08T01:00:00.000001Z", (order) => {
      order.tip_cents = 600;
      order.total_cents = 3200;
    });
    const events = eventsOf([placed, tipped] as unknown as BbotWebhook[]);
    assert.deepEqual(
      events.map((event) => event.type),
      ["order.created", "order.tip_changed"],
    );
    assert.deepEqual(events[1]!.change, { fromCents: 478, toCents: 600 });
  });

  it("table and wanted time changes are updates", () => {
    const placed = sample();
    const moved = next(placed, "2021-12-08T01:00:00.000001Z", (order) => {
      order.table = { id: "t2", display_name: "Deck", short_id: "deck" };
      order.user_desired_time = "2021-12-08T01:30:00Z";
    });
    const events = eventsOf([placed, moved] as unknown as BbotWebhook[]);
    assert.equal(events[1]!.type, "order.updated");
    const fields = (
      events[1]!.change as { fields: { field: string }[] }
    ).fields.map((field) => field.field);
    assert.deepEqual(fields, ["table", "wantedAt"]);
  });

  it("an added item is an items change", () => {
    const placed = sample();
    const added = next(placed, "2021-12-08T01:00:00.000001Z", (order) => {
      order.items.push({ ...order.items[0]!, id: "new-item" });
      order.pretax_cents = 3582;
    });
    const events = eventsOf([placed, added] as unknown as BbotWebhook[]);
    const change = events[1]!.change as {
      added: { itemId: string }[];
      removed: unknown[];
    };
    assert.equal(events[1]!.type, "order.items_changed");
    assert.deepEqual(
      change.added.map((item) => item.itemId),
      ["new-item"],
    );
    assert.deepEqual(change.removed, []);
  });

  it("event ids are stable across replays", () => {
    const first = eventsOf(lifecycleSnapshots()).map((event) => event.id);
    const second = eventsOf(lifecycleSnapshots()).map((event) => event.id);
    assert.deepEqual(first, second);
    assert.equal(new Set(first).size, first.length);
  });
});
