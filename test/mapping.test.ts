import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { businessDateOf } from "../src/bbot/business-date.ts";
import { deriveStage } from "../src/bbot/stage.ts";
import { compareTimestamps } from "../src/bbot/timestamps.ts";
import { validateWebhook } from "../src/bbot/payload.ts";
import { redactOrder } from "../src/orders/model.ts";
import {
  canonicalOf,
  demoRestaurant,
  readFixture,
} from "./helpers/sample-events.ts";

describe("canonical mapping", () => {
  const order = canonicalOf(readFixture("sample-order.json"));

  it("keeps Bbot's cents and never counts mods twice", () => {
    assert.equal(order.items.length, 2);
    assert.equal(order.items[0]!.pretaxCents, 1194);
    assert.equal(order.items[0]!.mods[0]!.pretaxCents, 92);
    assert.equal(order.items[0]!.taxCents, 106);
    assert.equal(order.items[0]!.tipCents, 239);
    assert.equal(order.pretaxCents, 2388);
    assert.equal(order.taxCents, 212);
    assert.equal(order.tipCents, 478);
    assert.equal(order.feeCents, 0);
    assert.equal(order.discountCents, 0);
    assert.equal(order.totalCents, 3078);
    assert.deepEqual(order.warnings, []);
  });

  it("maps ids, table and times", () => {
    assert.equal(order.orderId, "bc960165-aa17-4506-abdc-0b1c26e44ff9");
    assert.equal(
      order.bbotRestaurantId,
      "ecde3351-606c-4971-ab5a-792bccb0e5e2",
    );
    assert.equal(order.customerId, "<customer_id>");
    assert.equal(order.restaurantId, "demo");
    assert.deepEqual(order.table, {
      id: "dfda1479-b19e-40e9-accc-18d62c6ceaed",
      name: "Barge",
      shortId: "barge",
    });
    assert.equal(order.orderNumberToday, 233);
    assert.equal(order.fulfillmentMethod, "runner_with_cc");
    assert.equal(order.modifiedAt, "2021-12-08T00:53:52.057361Z");
    assert.equal(order.placedAt, "2021-12-08T00:53:52.057350Z");
    assert.equal(order.closedAt, null);
    assert.equal(order.stage, "waiting");
  });

  it("business date follows the restaurant's zone", () => {
    // 00:53 UTC on 8 December is 19:53 on 7 December in New York.
    assert.equal(order.businessDate, "2021-12-07");
  });

  it("keeps microseconds in last_modified", () => {
    assert.ok(compareTimestamps(order.placedAt, order.modifiedAt) < 0);
    assert.equal(
      compareTimestamps(
        "2021-12-08T00:53:52.057361Z",
        "2021-12-08T00:53:52.057361+00:00",
      ),
      0,
    );
    assert.ok(
      compareTimestamps(
        "2021-12-08T00:53:52.0573611Z",
        "2021-12-08T00:53:52.057361Z",
      ) > 0,
    );
  });

  it("keeps card fingerprint and customer out", () => {
    const text = JSON.stringify(order);
    assert.ok(!text.includes("fp_sample0000001"));
    assert.ok(!text.includes("cus_sample000001"));
    assert.deepEqual(order.payment, {
      brand: "Visa",
      funding: "credit",
      last4: "0077",
      chargedCents: 3078,
    });
  });

  it("keeps the guest apart and redacts it", () => {
    assert.equal(order.guest?.email, "guest@example.com");
    const redacted = redactOrder(order, []);
    assert.equal(redacted.guest, null);
    assert.equal(redacted.payment?.last4, null);
    const firstNameOnly = redactOrder(order, ["firstName"]);
    assert.deepEqual(firstNameOnly.guest, {
      guestId: null,
      email: null,
      phone: null,
      name: null,
      firstName: "Sam",
      lastName: null,
    });
  });

  it("records a warning when figures disagree", () => {
    const body = readFixture("sample-order.json") as unknown as {
      order: Record<string, unknown>;
    };
    body.order.total_cents = 3080;
    body.order.pretax_cents = 2389;
    const broken = canonicalOf(body as never);
    assert.equal(broken.totalCents, 3080);
    assert.equal(broken.pretaxCents, 2389);
    assert.equal(broken.warnings.length, 2);
    assert.match(
      broken.warnings[0]!,
      /pretax_cents add up to 2388 but order.pretax_cents is 2389/,
    );
    assert.match(
      broken.warnings[1]!,
      /total_cents is 3080 but pretax \+ tax \+ tip \+ fee is 3079/,
    );
  });

  it("rejects blank ids and string cents", () => {
    const body = readFixture("sample-order.json") as unknown as {
      order: Record<string, unknown>;
    };
    body.order.id = "   ";
    body.order.tip_cents = "478";
    const result = validateWebhook(body);
    assert.equal(result.ok, false);
    const paths = result.ok
      ? []
      : result.problems.map((problem) => problem.path);
    assert.deepEqual(paths.sort(), ["order.id", "order.tip_cents"]);
  });

  it("rejects control characters in ids", () => {
    const body = readFixture("sample-order.json") as unknown as {
      order: Record<string, unknown>;
    };
    body.order.id = "a\nb";
    const result = validateWebhook(body);
    assert.equal(result.ok, false);
    const problems = result.ok ? [] : result.problems;
    assert.deepEqual(problems, [
      { path: "order.id", message: "must not contain control characters" },
    ]);
  });

  it("warns about a repeated item id", () => {
    const body = readFixture("sample-order.json") as unknown as {
      order: { items: { id: string }[] };
    };
    body.order.items[1]!.id = body.order.items[0]!.id;
    const mapped = canonicalOf(body as never);
    assert.deepEqual(mapped.warnings, [
      "item id bc961912-26c0-43ef-b3f3-af6bbce9a3e9 appears more than once",
    ]);
  });

  it("tolerates unknown fields and nulls", () => {
    const body = readFixture("sample-order.json") as unknown as {
      order: Record<string, unknown> & { items: Record<string, unknown>[] };
    };
    body.order.brand_new_field = { nested: true };
    body.order.table = null;
    body.order.charge = null;
    body.order.fee_pretax_cents = null;
    body.order.items[0]!.mods = null;
    body.order.items[0]!.status = "Ready for Driver";
    const result = validateWebhook(body);
    assert.ok(result.ok);
    const mapped = canonicalOf(body as never);
    assert.equal(mapped.table, null);
    assert.equal(mapped.payment, null);
    assert.equal(mapped.items[0]!.status, "Ready for Driver");
  });
});

describe("business date", () => {
  const at = (iso: string) => Date.parse(iso);

  it("orders before the cutoff belong to the previous day", () => {
    assert.equal(
      businessDateOf(at("2026-06-10T06:00:00Z"), "America/New_York", 4),
      "2026-06-09",
    ); // 02:00 EDT
    assert.equal(
      businessDateOf(at("2026-06-10T08:00:00Z"), "America/New_York", 4),
      "2026-06-10",
    ); // 04:00 EDT
    assert.equal(
      businessDateOf(at("2026-06-10T06:00:00Z"), "America/New_York", 0),
      "2026-06-10",
    );
  });

  it("01:30 on spring-forward night is the previous day", () => {
    // 2026-03-08 02:00 EST jumps to 03:00 EDT; 01:30 EST is 06:30 UTC.
    assert.equal(
      businessDateOf(at("2026-03-08T06:30:00Z"), "America/New_York", 4),
      "2026-03-07",
    );
    // 03:30 EDT is still before the cutoff.
    assert.equal(
      businessDateOf(at("2026-03-08T07:30:00Z"), "America/New_York", 4),
      "2026-03-07",
    );
    assert.equal(
      businessDateOf(at("2026-03-08T08:00:00Z"), "America/New_York", 4),
      "2026-03-08",
    );
  });

  it("both 01:30s of fall-back night are the previous day", () => {
    assert.equal(
      businessDateOf(at("2026-11-01T05:30:00Z"), "America/New_York", 4),
      "2026-10-31",
    ); // 01:30 EDT
    assert.equal(
      businessDateOf(at("2026-11-01T06:30:00Z"), "America/New_York", 4),
      "2026-10-31",
    ); // 01:30 EST
    assert.equal(
      businessDateOf(at("2026-11-01T08:59:00Z"), "America/New_York", 4),
      "2026-10-31",
    ); // 03:59 EST
    assert.equal(
      businessDateOf(at("2026-11-01T09:00:00Z"), "America/New_York", 4),
      "2026-11-01",
    ); // 04:00 EST
  });

  it("restaurant cutoff comes from config", () => {
    const restaurant = demoRestaurant({ businessDayCutoffHour: 6 });
    const body = readFixture("sample-order.json") as unknown as {
      order: Record<string, unknown>;
    };
    body.order.time = "2026-06-10T09:30:00.000001Z"; // 05:30 EDT
    assert.equal(
      canonicalOf(body as never, restaurant).businessDate,
      "2026-06-09",
    );
  });
});

describe("order stage", () => {
  it("is the least advanced item stage", () => {
    assert.equal(deriveStage(["delivered", "ready_for_driver"]), "ready");
    assert.equal(deriveStage(["Accepted by Staff", "waiting"]), "waiting");
  });

  it("ignores refunded items", () => {
    assert.equal(deriveStage(["delivered", "refunded"]), "delivered");
    assert.equal(deriveStage(["refunded"]), "refunded");
  });

  it("keeps unknown statuses as data", () => {
    assert.equal(deriveStage(["at_the_pass", "at_the_pass"]), "at_the_pass");
    assert.equal(deriveStage(["at_the_pass", "plating"]), "mixed");
    assert.equal(deriveStage(["at_the_pass", "waiting"]), "waiting");
  });
});
