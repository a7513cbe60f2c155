import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { shiftDate } from "../bbot/business-date.ts";
import type { StoredOrder } from "../orders/ingest.ts";
import { readFixture } from "../../test/helpers/sample-events.ts";
import { demoRestaurant } from "../../test/helpers/sample-events.ts";
import { dayLines } from "./entry.ts";
import {
  openTestStore,
  orderPayload,
  refundPayload,
  testAccounts,
  type OrderSpec,
} from "./testing.ts";
import { datePartitions, readDayTotals } from "./totals.ts";

const restaurant = demoRestaurant({ export: { accounts: testAccounts() } });

const item = (pretaxCents: number, taxCents = 0, tipCents = 0) => ({
  pretaxCents,
  taxCents,
  tipCents,
});

describe("day totals", () => {
  it("sample order totals on 2021-12-07", async () => {
    const test = await openTestStore();
    try {
      await test.receive(
        readFixture("sample-order.json"),
        restaurant,
        "2021-12-08T00:53:53Z",
      );
      const totals = await readDayTotals(test.store, restaurant, "2021-12-07");
      assert.equal(totals.orderCount, 1);
      assert.equal(totals.grossSalesCents, 2388);
      assert.equal(totals.discountCents, 0);
      assert.equal(totals.netSalesCents, 2388);
      assert.equal(totals.taxCents, 212);
      assert.equal(totals.tipCents, 478);
      assert.equal(totals.feeCents, 0);
      assert.equal(totals.collectedCents, 3078);
      assert.deepEqual(totals.byPaymentBrand, {
        Visa: {
          orderCount: 1,
          collectedCents: 3078,
          refundCount: 0,
          refundedCents: 0,
        },
      });
      assert.deepEqual(Object.keys(totals.byFulfillmentMethod), [
        "runner_with_cc",
      ]);
      assert.deepEqual(totals.warnings, []);
    } finally {
      await test.close();
    }
  });

  it("gross sales include discounts", async () => {
    const test = await openTestStore();
    try {
      const spec: OrderSpec = {
        id: "discounted",
        placedAt: "2021-12-07T18:00:00.000001Z",
        items: [{ ...item(800, 64, 100), originalPretaxCents: 1000 }],
        feeCents: 150,
      };
      await test.receive(
        orderPayload(spec),
        restaurant,
        "2021-12-07T18:00:01Z",
      );
      const totals = await readDayTotals(test.store, restaurant, "2021-12-07");
      assert.equal(totals.grossSalesCents, 1000);
      assert.equal(totals.discountCents, 200);
      assert.equal(totals.netSalesCents, 800);
      assert.equal(totals.feeCents, 150);
      assert.equal(totals.collectedCents, 800 + 64 + 100 + 150);
    } finally {
      await test.close();
    }
  });

  it("cutoff hour assigns early orders to the previous day", async () => {
    const late = demoRestaurant({
      businessDayCutoffHour: 5,
      export: { accounts: testAccounts() },
    });
    const test = await openTestStore();
    try {
      // 04:59 and 05:00 EST on 2021-12-08.
      for (const [id, placedAt] of [
        ["before-cutoff", "2021-12-08T09:59:00.000001Z"],
        ["at-cutoff", "2021-12-08T10:00:00.000001Z"],
      ] as const) {
        await test.receive(
          orderPayload({ id, placedAt, items: [item(1000)] }),
          late,
          placedAt,
        );
      }
      const day7 = await readDayTotals(test.store, late, "2021-12-07");
      const day8 = await readDayTotals(test.store, late, "2021-12-08");
      assert.equal(day7.orderCount, 1);
      assert.equal(day8.orderCount, 1);
    } finally {
      await test.close();
    }
  });

  it("spring-forward day has 23 hours", async () => {
    const test = await openTestStore();
    try {
      // 2026-03-08 America/New_York: 02:00 EST jumps to 03:00 EDT.
      const orders = [
        ["a-0400-est-mar7", "2026-03-07T09:00:00.000001Z", "2026-03-07"],
        ["b-0130-est", "2026-03-08T06:30:00.000001Z", "2026-03-07"],
        ["c-0330-edt", "2026-03-08T07:30:00.000001Z", "2026-03-07"],
        ["d-0359-edt", "2026-03-08T07:59:59.000001Z", "2026-03-07"],
        ["e-0400-edt", "2026-03-08T08:00:00.000001Z", "2026-03-08"],
      ] as const;
      for (const [id, placedAt] of orders) {
        await test.receive(
          orderPayload({ id, placedAt, items: [item(100)] }),
          restaurant,
          placedAt,
        );
      }
      const day7 = await readDayTotals(test.store, restaurant, "2026-03-07");
      const day8 = await readDayTotals(test.store, restaurant, "2026-03-08");
      assert.equal(day7.orderCount, 4);
      assert.equal(day7.netSalesCents, 400);
      assert.equal(day8.orderCount, 1);
      const span =
        Date.parse("2026-03-08T08:00:00Z") - Date.parse("2026-03-07T09:00:00Z");
      assert.equal(span, 23 * 3_600_000);
    } finally {
      await test.close();
    }
  });

  it("fall-back day has 25 hours and both 01:30s", async () => {
    const test = await openTestStore();
    try {
      // 2026-11-01 America/New_York: 02:00 EDT falls back to 01:00 EST.
      const orders = [
        ["a-0400-edt-oct31", "2026-10-31T08:00:00.000001Z"],
        ["b-0130-edt", "2026-11-01T05:30:00.000001Z"],
        ["c-0130-est", "2026-11-01T06:30:00.000001Z"],
        ["d-0359-est", "2026-11-01T08:59:59.000001Z"],
        ["e-0400-est", "2026-11-01T09:00:00.000001Z"],
      ] as const;
      for (const [id, placedAt] of orders) {
        await test.receive(
          orderPayload({ id, placedAt, items: [item(100)] }),
          restaurant,
          placedAt,
        );
      }
      const day31 = await readDayTotals(test.store, restaurant, "2026-10-31");
      const day1 = await readDayTotals(test.store, restaurant, "2026-11-01");
      assert.equal(day31.orderCount, 4);
      assert.equal(day1.orderCount, 1);
      const previous = await readDayTotals(
        test.store,
        restaurant,
        "2026-10-30",
      );
      assert.equal(previous.orderCount, 0);
    } finally {
      await test.close();
    }
  });

  it("refund books on its detection day", async () => {
    const test = await openTestStore();
    try {
      const spec: OrderSpec = {
        id: "refunded-later",
        placedAt: "2021-12-07T20:00:00.000001Z",
        items: [item(1000, 80, 150), item(500, 40, 50)],
        feeCents: 0,
        brand: "Amex",
      };
      await test.receive(orderPayload(spec), restaurant, spec.placedAt);
      // Detected 2021-12-09 at 12:00 EST.
      await test.receive(
        refundPayload(spec, [1], "2021-12-09T17:00:00.000001Z"),
        restaurant,
        "2021-12-09T17:00:01Z",
      );

      const saleDay = await readDayTotals(test.store, restaurant, "2021-12-07");
      assert.equal(saleDay.netSalesCents, 1500);
      assert.equal(saleDay.taxCents, 120);
      assert.equal(saleDay.tipCents, 200);
      assert.equal(saleDay.collectedCents, 1820);
      assert.equal(saleDay.refunds.totalCents, 0);

      const between = await readDayTotals(test.store, restaurant, "2021-12-08");
      assert.equal(between.refunds.count, 0);

      const refundDay = await readDayTotals(
        test.store,
        restaurant,
        "2021-12-09",
      );
      assert.equal(refundDay.orderCount, 0);
      assert.deepEqual(refundDay.refunds, {
        count: 1,
        salesCents: 500,
        taxCents: 40,
        tipCents: 50,
        feeCents: 0,
        totalCents: 590,
      });
      assert.deepEqual(refundDay.byPaymentBrand.Amex, {
        orderCount: 0,
        collectedCents: 0,
        refundCount: 1,
        refundedCents: 590,
      });
    } finally {
      await test.close();
    }
  });

  it("a month reconciles to the cent", async () => {
    const test = await openTestStore();
    try {
      const generated = await generateOrders(test);
      const first = "2026-02-20";
      const last = "2026-11-10";

      const sums = { sales: 0, tax: 0, tip: 0, fee: 0, orders: 0, refunds: 0 };
      let dates = 0;
      for (let date = first; date <= last; date = shiftDate(date, 1)) {
        const totals = await readDayTotals(test.store, restaurant, date);
        dates += 1;
        assert.ok(dates < 400, "date loop bound");
        sums.orders += totals.orderCount;
        sums.refunds += totals.refunds.count;
        sums.sales += totals.netSalesCents - totals.refunds.salesCents;
        sums.tax += totals.taxCents - totals.refunds.taxCents;
        sums.tip += totals.tipCents - totals.refunds.tipCents;
        sums.fee += totals.feeCents - totals.refunds.feeCents;
        assert.equal(
          totals.grossSalesCents - totals.discountCents,
          totals.netSalesCents,
        );
        assert.equal(
          totals.collectedCents,
          totals.netSalesCents +
            totals.taxCents +
            totals.tipCents +
            totals.feeCents,
        );
        const lines = dayLines(totals, restaurant.export!);
        const debits = lines.reduce((sum, line) => sum + line.debitCents, 0);
        const credits = lines.reduce((sum, line) => sum + line.creditCents, 0);
        assert.equal(debits, credits, `entry of ${date} balances`);
      }

      const stored = await storedOrders(test.store);
      assert.equal(sums.orders, stored.length);
      assert.equal(sums.orders, generated.orders);
      assert.equal(sums.refunds, generated.refunds);
      const current = (pick: (order: StoredOrder) => number) =>
        stored.reduce((sum, order) => sum + pick(order), 0);
      assert.equal(
        sums.sales,
        current((order) => order.current.pretaxCents),
      );
      assert.equal(
        sums.tax,
        current((order) => order.current.taxCents),
      );
      assert.equal(
        sums.tip,
        current((order) => order.current.tipCents),
      );
      assert.equal(
        sums.fee,
        current((order) => order.current.feeCents),
      );
      assert.ok(generated.refunds > 20, "the month has refunds");
    } finally {
      await test.close();
    }
  });
});

/**
 * Ingests about six orders a day over 2026-02-24..2026-03-25 and 2026-10-25..2026-11-05, both
 * DST changes included, with orders around 01:30 and the 04:00 cutoff and refunds detected on
 * the same or a later day.
 */
async function generateOrders(
  test: Awaited<ReturnType<typeof openTestStore>>,
): Promise<{ orders: number; refunds: number }> {
  let seed = 7;
  const random = (limit: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % limit;
  };
  const brands = ["Visa", "Mastercard", "Amex", null];
  const methods = ["runner_with_cc", "pickup", "delivery"];
  // UTC hours: 05:30 and 06:30 are 01:30 local in EDT and EST, 08:59 and 09:00 straddle the cutoff in EST.
  const hours = [
    "05:30",
    "06:30",
    "07:59",
    "08:00",
    "08:59",
    "09:00",
    "17:15",
    "23:45",
  ];
  const days = [
    ...Array.from({ length: 30 }, (_, i) => shiftDate("2026-02-24", i)),
    ...Array.from({ length: 12 }, (_, i) => shiftDate("2026-10-25", i)),
  ];

  let orders = 0;
  let refunds = 0;
  for (const day of days) {
    for (let n = 0; n < 6; n += 1) {
      const hour = hours[random(hours.length)]!;
      const placedAt = `${day}T${hour}:${String(n).padStart(2, "0")}.000001Z`;
      const spec: OrderSpec = {
        id: `gen-${day}-${n}`,
        placedAt,
        items: Array.from({ length: 1 + random(3) }, () => {
          const pretax = 100 + random(3000);
          return {
            pretaxCents: pretax,
            taxCents: random(300),
            tipCents: random(500),
            originalPretaxCents: pretax + (random(4) === 0 ? random(200) : 0),
          };
        }),
        feeCents: random(3) === 0 ? 99 + random(200) : 0,
        brand: brands[random(brands.length)]!,
        fulfillmentMethod: methods[random(methods.length)]!,
      };
      await test.receive(orderPayload(spec), restaurant, placedAt);
      orders += 1;

      if (spec.items.length > 1 && random(3) === 0) {
        const laterDays = random(3);
        const detected = new Date(
          Date.parse(placedAt) + laterDays * 86_400_000 + 3_600_000,
        )
          .toISOString()
          .replace("Z", "001Z");
        await test.receive(
          refundPayload(spec, [0], detected),
          restaurant,
          detected,
        );
        refunds += 1;
      }
    }
  }
  return { orders, refunds };
}

async function storedOrders(
  store: Awaited<ReturnType<typeof openTestStore>>["store"],
): Promise<StoredOrder[]> {
  const orders: StoredOrder[] = [];
  const partitions = await store.partitions("orders");
  for (const partition of partitions) {
    for (const [, order] of await store.rows<StoredOrder>("orders", partition))
      orders.push(order);
  }
  assert.ok(
    partitions.every((partition) =>
      datePartitions(partition.slice(0, 10)).includes(partition),
    ),
  );
  return orders;
}
