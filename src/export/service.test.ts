import assert from "node:assert/strict";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import cron from "node-cron";

import { silentLogger } from "../logger.ts";
import type { JournalEntryEvent } from "../orders/events.ts";
import type { StoreOp } from "../store/store.ts";
import {
  demoRestaurant,
  readFixture,
} from "../../test/helpers/sample-events.ts";
import type { LedgerRecord } from "./ledger.ts";
import { ExportRequestError, ExportService } from "./service.ts";
import type { CronScheduler, ScheduleOptions } from "./schedule.ts";
import {
  openTestStore,
  orderPayload,
  refundPayload,
  testAccounts,
  type OrderSpec,
  type TestStore,
} from "./testing.ts";

const ALL_FORMATS = ["qbo-csv", "xero-csv", "iif", "json"];

function restaurantWith(exportSettings: Record<string, unknown> = {}) {
  return demoRestaurant({
    export: {
      accounts: testAccounts(),
      formats: ALL_FORMATS,
      ...exportSettings,
    },
  });
}

function serviceFor(
  test: TestStore,
  restaurant = restaurantWith(),
  extra: Partial<ConstructorParameters<typeof ExportService>[0]> = {},
) {
  return new ExportService({
    store: test.store,
    restaurants: [restaurant],
    dataDir: test.dataDir,
    clock: test.clock,
    logger: silentLogger(),
    ...extra,
  });
}

async function exportFiles(test: TestStore): Promise<string[]> {
  return (await readdir(join(test.dataDir, "exports")).catch(() => [])).sort();
}

const item = (pretaxCents: number, taxCents = 0, tipCents = 0) => ({
  pretaxCents,
  taxCents,
  tipCents,
});

describe("export service", () => {
  it("exports the sample day in every format", async () => {
    const test = await openTestStore();
    try {
      const restaurant = restaurantWith();
      await test.receive(
        readFixture("sample-order.json"),
        restaurant,
        "2021-12-08T00:53:53Z",
      );
      test.clock.set("2021-12-08T11:00:00Z");
      const result = await serviceFor(test, restaurant).exportDay(
        "demo",
        "2021-12-07",
      );

      assert.equal(result.status, "written");
      assert.equal(result.revision, 1);
      assert.equal(result.entry?.kind, "day");
      assert.deepEqual(await exportFiles(test), [
        "demo_2021-12-07_r1.iif",
        "demo_2021-12-07_r1.json",
        "demo_2021-12-07_r1.qbo.csv",
        "demo_2021-12-07_r1.xero.csv",
      ]);
      const qbo = await readFile(
        join(test.dataDir, "exports", "demo_2021-12-07_r1.qbo.csv"),
        "utf8",
      );
      assert.ok(qbo.includes("Card Clearing,30.78,,Card payments\r\n"));
      assert.equal(result.files[0]!.content, undefined);
    } finally {
      await test.close();
    }
  });

  it("rerun writes nothing twice", async () => {
    const test = await openTestStore();
    try {
      const restaurant = restaurantWith();
      await test.receive(
        readFixture("sample-order.json"),
        restaurant,
        "2021-12-08T00:53:53Z",
      );
      test.clock.set("2021-12-08T11:00:00Z");
      const service = serviceFor(test, restaurant);
      await service.exportDay("demo", "2021-12-07");
      const before = await exportFiles(test);

      const again = await service.exportDay("demo", "2021-12-07");
      assert.equal(again.status, "already-exported");
      assert.deepEqual(again.files, []);

      const forced = await service.exportDay("demo", "2021-12-07", {
        force: true,
      });
      assert.equal(forced.status, "unchanged");
      assert.equal(forced.revision, 1);
      assert.deepEqual(await exportFiles(test), before);

      const ledger = (await service.ledger("demo", "2021-12-07"))!;
      assert.equal(ledger.revisions.length, 1);
    } finally {
      await test.close();
    }
  });

  it("missing file is written again", async () => {
    const test = await openTestStore();
    try {
      const restaurant = restaurantWith();
      await test.receive(
        readFixture("sample-order.json"),
        restaurant,
        "2021-12-08T00:53:53Z",
      );
      test.clock.set("2021-12-08T11:00:00Z");
      const service = serviceFor(test, restaurant);
      const first = await service.exportDay("demo", "2021-12-07");
      const iif = first.files.find((file) => file.format === "iif")!;
      const text = await readFile(iif.path, "utf8");
      await rm(iif.path);

      const again = await service.exportDay("demo", "2021-12-07", {
        format: "iif",
      });
      assert.equal(again.status, "already-exported");
      assert.deepEqual(
        again.files.map((file) => file.name),
        ["demo_2021-12-07_r1.iif"],
      );
      assert.equal(await readFile(iif.path, "utf8"), text);
    } finally {
      await test.close();
    }
  });

  it("late refund books on its own day", async () => {
    const test = await openTestStore();
    try {
      const restaurant = restaurantWith({ formats: ["qbo-csv"] });
      const spec: OrderSpec = {
        id: "late-refund",
        placedAt: "2021-12-07T20:00:00.000001Z",
        items: [item(1000, 80, 150), item(500, 40, 50)],
      };
      await test.receive(orderPayload(spec), restaurant, spec.placedAt);
      test.clock.set("2021-12-08T11:00:00Z");
      const service = serviceFor(test, restaurant);
      await service.exportDay("demo", "2021-12-07");

      await test.receive(
        refundPayload(spec, [1], "2021-12-09T17:00:00.000001Z"),
        restaurant,
        "2021-12-09T17:00:01Z",
      );
      test.clock.set("2021-12-10T11:00:00Z");

      const saleDay = await service.exportDay("demo", "2021-12-07", {
        force: true,
      });
      assert.equal(saleDay.status, "unchanged");

      const refundDay = await service.exportDay("demo", "2021-12-09");
      assert.equal(refundDay.status, "written");
      const expected =
        "\uFEFFJournal No.,Journal Date,Account Name,Debits,Credits,Description\r\n" +
        "demo-20211209-1,12/09/2021,Refunds,5.00,,Refunded sales\r\n" +
        "demo-20211209-1,12/09/2021,Sales Tax Payable,0.40,,Refunded sales tax\r\n" +
        "demo-20211209-1,12/09/2021,Tips Payable,0.50,,Refunded tips\r\n" +
        "demo-20211209-1,12/09/2021,Card Clearing,,5.90,Card refunds\r\n";
      assert.equal(await readFile(refundDay.files[0]!.path, "utf8"), expected);
    } finally {
      await test.close();
    }
  });

  it("forced run writes a correction", async () => {
    const test = await openTestStore();
    try {
      const restaurant = restaurantWith({ formats: ["qbo-csv", "xero-csv"] });
      await test.receive(
        readFixture("sample-order.json"),
        restaurant,
        "2021-12-08T00:53:53Z",
      );
      test.clock.set("2021-12-08T11:00:00Z");
      const service = serviceFor(test, restaurant);
      await service.exportDay("demo", "2021-12-07");

      // A refund detected before the cutoff (03:00 EST) belongs to 2021-12-07, but its
      // webhook reached the service only after the export: the clock goes back to detect it.
      const spec: OrderSpec = {
        id: "late-webhook",
        placedAt: "2021-12-07T22:00:00.000001Z",
        items: [
          { ...item(1000, 80, 200), originalPretaxCents: 1200 },
          item(300, 24, 0),
        ],
        feeCents: 100,
      };
      await test.receive(orderPayload(spec), restaurant, spec.placedAt);
      await test.receive(
        refundPayload(spec, [1], "2021-12-08T08:00:00.000001Z"),
        restaurant,
        "2021-12-08T08:00:01Z",
      );
      test.clock.set("2021-12-08T12:00:00Z");

      const correction = await service.exportDay("demo", "2021-12-07", {
        force: true,
      });
      assert.equal(correction.status, "written");
      assert.equal(correction.revision, 2);
      assert.equal(correction.entry?.kind, "correction");
      const qbo =
        "\uFEFFJournal No.,Journal Date,Account Name,Debits,Credits,Description\r\n" +
        "demo-20211207-2,12/07/2021,Card Clearing,17.04,,Card payments\r\n" +
        "demo-20211207-2,12/07/2021,Discounts,2.00,,Discounts\r\n" +
        "demo-20211207-2,12/07/2021,Sales,,15.00,Gross sales\r\n" +
        "demo-20211207-2,12/07/2021,Service Fees,,1.00,Service fees\r\n" +
        "demo-20211207-2,12/07/2021,Sales Tax Payable,,1.04,Sales tax\r\n" +
        "demo-20211207-2,12/07/2021,Tips Payable,,2.00,Tips\r\n" +
        "demo-20211207-2,12/07/2021,Refunds,3.00,,Refunded sales\r\n" +
        "demo-20211207-2,12/07/2021,Sales Tax Payable,0.24,,Refunded sales tax\r\n" +
        "demo-20211207-2,12/07/2021,Card Clearing,,3.24,Card refunds\r\n";
      const file = correction.files.find((f) => f.format === "qbo-csv")!;
      assert.equal(file.name, "demo_2021-12-07_r2.qbo.csv");
      assert.equal(await readFile(file.path, "utf8"), qbo);
      assert.deepEqual(await exportFiles(test), [
        "demo_2021-12-07_r1.qbo.csv",
        "demo_2021-12-07_r1.xero.csv",
        "demo_2021-12-07_r2.qbo.csv",
        "demo_2021-12-07_r2.xero.csv",
      ]);

      const ledger = (await service.ledger("demo", "2021-12-07"))!;
      assert.equal(ledger.revision, 2);
      assert.deepEqual(
        ledger.revisions.map((revision) => revision.kind),
        ["day", "correction"],
      );
      const collected = ledger.posted.find((line) => line.kind === "payments");
      assert.equal(collected?.debitCents, 3078 + 1704);

      const again = await service.exportDay("demo", "2021-12-07", {
        force: true,
      });
      assert.equal(again.status, "unchanged");
      assert.equal(again.revision, 2);
    } finally {
      await test.close();
    }
  });

  it("correction reverses a lowered figure", async () => {
    const test = await openTestStore();
    try {
      const restaurant = restaurantWith({ formats: ["json"] });
      const spec: OrderSpec = {
        id: "tip-lowered",
        placedAt: "2021-12-07T20:00:00.000001Z",
        items: [
          { ...item(1000, 80, 300), originalPretaxCents: 1300 },
          item(500, 40, 0),
        ],
      };
      await test.receive(orderPayload(spec), restaurant, spec.placedAt);
      test.clock.set("2021-12-08T11:00:00Z");
      const service = serviceFor(test, restaurant);
      await service.exportDay("demo", "2021-12-07");

      // Refunding the discounted item lowers the sale day's discount, so gross sales and
      // discounts drop together (see the NOTE in totals.ts).
      await test.receive(
        refundPayload(spec, [0], "2021-12-08T15:00:00.000001Z"),
        restaurant,
        "2021-12-08T15:00:01Z",
      );
      const correction = await service.exportDay("demo", "2021-12-07", {
        force: true,
      });
      const lines = correction.entry!.lines.map((line) => [
        line.account.name,
        line.debitCents,
        line.creditCents,
      ]);
      assert.deepEqual(lines, [
        ["Discounts", 0, 300],
        ["Sales", 300, 0],
      ]);
    } finally {
      await test.close();
    }
  });

  it("dry run writes nothing", async () => {
    const test = await openTestStore();
    try {
      const restaurant = restaurantWith();
      await test.receive(
        readFixture("sample-order.json"),
        restaurant,
        "2021-12-08T00:53:53Z",
      );
      test.clock.set("2021-12-08T01:00:00Z");
      const service = serviceFor(test, restaurant);
      const preview = await service.exportDay("demo", "2021-12-07", {
        dryRun: true,
      });
      assert.equal(preview.status, "written");
      assert.equal(preview.dryRun, true);
      assert.equal(preview.files.length, 4);
      assert.ok(preview.files[0]!.content!.length > 0);
      assert.deepEqual(await exportFiles(test), []);
      assert.equal(await service.ledger("demo", "2021-12-07"), undefined);
    } finally {
      await test.close();
    }
  });

  it("unfinished and unknown dates are rejected", async () => {
    const test = await openTestStore();
    try {
      // 03:59 EST on 2021-12-08: business date 2021-12-07 is still open.
      test.clock.set("2021-12-08T08:59:00Z");
      const service = serviceFor(test);
      await assert.rejects(
        service.exportDay("demo", "2021-12-07"),
        (error: ExportRequestError) =>
          error.status === 409 && /not finished yet/.test(error.message),
      );
      await assert.rejects(
        service.exportDay("demo", "2021-02-30"),
        (error: ExportRequestError) => error.status === 400,
      );
      await assert.rejects(
        service.exportDay("nowhere", "2021-12-06"),
        (error: ExportRequestError) => error.status === 404,
      );
      await assert.rejects(
        service.exportDay("demo", "2021-12-06", { format: "pdf" as never }),
        (error: ExportRequestError) =>
          error.status === 400 &&
          /qbo-csv, xero-csv, iif, json/.test(error.message),
      );
      test.clock.set("2021-12-08T09:00:00Z");
      const result = await service.exportDay("demo", "2021-12-07");
      assert.equal(result.status, "empty");
    } finally {
      await test.close();
    }
  });

  it("publishes the entry with the ledger row", async () => {
    const test = await openTestStore();
    try {
      const restaurant = restaurantWith({ formats: ["json"] });
      await test.receive(
        readFixture("sample-order.json"),
        restaurant,
        "2021-12-08T00:53:53Z",
      );
      test.clock.set("2021-12-08T11:00:00Z");
      const published: JournalEntryEvent[] = [];
      const commits: StoreOp[][] = [];
      const service = serviceFor(test, restaurant, {
        publish: async (events, ops) => {
          published.push(...events);
          commits.push([...ops]);
          await test.store.commit(ops);
        },
      });
      const result = await service.exportDay("demo", "2021-12-07");

      assert.equal(published.length, 1);
      const event = published[0]!;
      assert.equal(event.type, "export.journal_entry");
      assert.equal(event.restaurantId, "demo");
      assert.equal(event.orderId, null);
      assert.equal(event.change.businessDate, "2021-12-07");
      assert.equal(event.change.revision, 1);
      const file = await readFile(result.files[0]!.path, "utf8");
      assert.deepEqual(event.change.entry, JSON.parse(file));
      assert.equal(commits[0]![0]!.table, "exports");
      assert.equal(commits[0]![0]!.key, "demo:2021-12-07");
    } finally {
      await test.close();
    }
  });

  it("saves the ledger when publish drops it", async () => {
    const test = await openTestStore();
    try {
      const restaurant = restaurantWith({ formats: ["json"] });
      await test.receive(
        readFixture("sample-order.json"),
        restaurant,
        "2021-12-08T00:53:53Z",
      );
      test.clock.set("2021-12-08T11:00:00Z");
      const service = serviceFor(test, restaurant, {
        publish: async () => {},
      });
      await service.exportDay("demo", "2021-12-07");
      const again = await service.exportDay("demo", "2021-12-07");
      assert.equal(again.status, "already-exported");
    } finally {
      await test.close();
    }
  });
});

describe("schedule and catch-up", () => {
  it("schedules the nightly run in the restaurant's zone", async () => {
    const test = await openTestStore();
    try {
      const calls: { expression: string; options: ScheduleOptions }[] = [];
      const schedule: CronScheduler = (expression, _task, options) => {
        calls.push({ expression, options });
        return { destroy() {} };
      };
      const service = serviceFor(
        test,
        restaurantWith({ scheduleTime: "02:30" }),
        { schedule },
      );
      await service.start();
      await service.stop();
      assert.deepEqual(calls, [
        {
          expression: "30 2 * * *",
          options: {
            timezone: "America/New_York",
            name: "export-demo",
            noOverlap: true,
          },
        },
      ]);
    } finally {
      await test.close();
    }
  });

  it("node-cron runs the job at local time", async () => {
    const test = await openTestStore();
    try {
      const service = serviceFor(
        test,
        restaurantWith({ scheduleTime: "06:15" }),
      );
      await service.start();
      try {
        const task = [...cron.getTasks().values()].find(
          (candidate) => candidate.name === "export-demo",
        );
        assert.ok(task, "a node-cron task named export-demo");
        assert.equal(task.getPattern(), "15 6 * * *");
        const next = task.getNextRun()!;
        const local = new Intl.DateTimeFormat("en-GB", {
          timeZone: "America/New_York",
          hour: "2-digit",
          minute: "2-digit",
          hourCycle: "h23",
        }).format(next);
        assert.equal(local, "06:15");
      } finally {
        await service.stop();
      }
      const left = [...cron.getTasks().values()].filter(
        (candidate) => candidate.name === "export-demo",
      );
      assert.equal(left.length, 0);
    } finally {
      await test.close();
    }
  });

  it("catch-up exports missed nights once", async () => {
    const test = await openTestStore();
    try {
      const restaurant = restaurantWith({ formats: ["json"], catchUpDays: 7 });
      // Orders on business dates 2026-03-06, 03-07 (01:30 EST on the spring-forward night) and 03-08.
      const placed = [
        ["mar6", "2026-03-06T18:00:00.000001Z"],
        ["mar7", "2026-03-08T06:30:00.000001Z"],
        ["mar8", "2026-03-08T16:00:00.000001Z"],
      ] as const;
      for (const [id, placedAt] of placed) {
        await test.receive(
          orderPayload({ id, placedAt, items: [item(1000, 80, 100)] }),
          restaurant,
          placedAt,
        );
      }
      const service = serviceFor(test, restaurant, {
        schedule: () => ({ destroy() {} }),
      });

      // 2026-03-07 06:00 EST: only 03-06 is finished.
      test.clock.set("2026-03-07T11:00:00Z");
      const [first] = await service.catchUp();
      assert.deepEqual(
        first!.results.map((result) => [result.businessDate, result.status]),
        [["2026-03-06", "written"]],
      );

      // The nights of 03-08 and 03-09 were missed; 2026-03-10 06:00 EDT catches up.
      test.clock.set("2026-03-10T10:00:00Z");
      const [second] = await service.start();
      await service.stop();
      assert.deepEqual(
        second!.results.map((result) => [
          result.businessDate,
          result.status,
          result.revision,
        ]),
        [
          ["2026-03-07", "written", 1],
          ["2026-03-08", "written", 1],
          ["2026-03-09", "empty", 0],
        ],
      );
      assert.deepEqual(await exportFiles(test), [
        "demo_2026-03-06_r1.json",
        "demo_2026-03-07_r1.json",
        "demo_2026-03-08_r1.json",
      ]);

      const [third] = await service.catchUp();
      assert.deepEqual(third!.results, []);
      assert.deepEqual(third!.failures, []);
    } finally {
      await test.close();
    }
  });

  it("catch-up looks back catchUpDays only", async () => {
    const test = await openTestStore();
    try {
      const restaurant = restaurantWith({ formats: ["json"], catchUpDays: 2 });
      for (const day of ["01", "02", "03", "04"]) {
        const placedAt = `2021-12-${day}T18:00:00.000001Z`;
        await test.receive(
          orderPayload({ id: `dec${day}`, placedAt, items: [item(500)] }),
          restaurant,
          placedAt,
        );
      }
      test.clock.set("2021-12-05T12:00:00Z");
      const [report] = await serviceFor(test, restaurant).catchUp();
      assert.deepEqual(
        report!.results.map((result) => result.businessDate),
        ["2021-12-03", "2021-12-04"],
      );
      const ledger = await test.store.get<LedgerRecord>(
        "exports",
        "demo",
        "demo:2021-12-02",
      );
      assert.equal(ledger, undefined);
    } finally {
      await test.close();
    }
  });
});
