import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

import { adapterRegistry } from "../adapters/index.ts";
import { main } from "../src/cli/main.ts";
import { runDemo, type DemoReport } from "../src/demo/run.ts";

const ORDERS = 12;
const REFUNDS = 2;

describe("demo dinner service", () => {
  let report: DemoReport;

  before(async () => {
    report = await runDemo({
      orders: ORDERS,
      refunds: REFUNDS,
      settleTimeoutMs: 30_000,
    });
  });

  it("settles every delivery", () => {
    assert.equal(report.settled, true);
    assert.deepEqual(report.deliveries, {});
  });

  it("accepts every webhook once", () => {
    assert.equal(report.webhooks.created, ORDERS);
    assert.equal(report.webhooks.duplicate, 1);
    assert.equal(report.events["order.created"], ORDERS);
    assert.equal(report.events["order.closed"], ORDERS);
    assert.equal(report.events["order.refunded"], REFUNDS);
  });

  it("exports the dinner's business date", () => {
    const written = report.exports.filter(
      (entry) => entry.status === "written",
    );
    assert.equal(written.length, 1, JSON.stringify(report.exports));
    assert.ok(written[0]!.files.some((name) => name.endsWith(".json")));
  });

  it("writes every event to the events file", () => {
    const file = report.destinations.find(
      (item) => item.name === "events-file",
    );
    assert.ok(file, "no events-file destination");
    const journalEntries = report.exports.filter(
      (entry) => entry.status === "written",
    ).length;
    const produced = Object.values(report.events).reduce((a, b) => a + b, 0);
    assert.equal(file.accepted, produced + journalEntries);
    assert.deepEqual(file.eventTypes, {
      ...report.events,
      "export.journal_entry": journalEntries,
    });
  });

  it("retries the failing destination until it recovers", () => {
    const flaky = report.destinations.filter((item) => item.flaky);
    assert.equal(flaky.length, 1);
    assert.ok(flaky[0]!.rejected > 0, "the outage turned nothing away");
    assert.ok(flaky[0]!.accepted > 0, "nothing landed after the outage");
  });

  it("feeds each registered fake", () => {
    for (const type of ["slack", "pos", "loyalty", "accounting"]) {
      const destination = report.destinations.find(
        (item) => item.type === type,
      );
      if (!adapterRegistry.has(type)) {
        assert.equal(destination, undefined, type);
        assert.ok(report.skipped.some((reason) => reason.startsWith(type)));
        continue;
      }
      assert.ok(destination, `${type} is registered but was left out`);
      assert.ok(destination.accepted > 0, `${type} received nothing`);
      // Retries repeat a delivery's key; what landed carries one key per delivery.
      assert.equal(destination.distinctKeys, destination.accepted, type);
    }
  });

  it("sends slack the orders, ready orders and refunds", () => {
    const slack = report.destinations.find((item) => item.type === "slack");
    if (!slack) return;
    assert.ok(slack.accepted >= ORDERS + REFUNDS, `${slack.accepted} posts`);
  });

  it("credits loyalty once per order", () => {
    const loyalty = report.destinations.find((item) => item.type === "loyalty");
    if (!loyalty) return;
    assert.equal(loyalty.paths["POST /transactions"], ORDERS);
  });

  it("posts each journal entry to accounting", () => {
    const books = report.destinations.find(
      (item) => item.type === "accounting",
    );
    if (!books) return;
    assert.equal(books.accepted, 1);
  });

  it("sends the POS each order and refund", () => {
    const pos = report.destinations.find((item) => item.type === "pos");
    if (!pos) return;
    assert.ok(pos.accepted >= 2 * ORDERS + REFUNDS, `${pos.accepted} posts`);
  });
});

describe("demo command", () => {
  it("prints what each destination received", async () => {
    const output: string[] = [];
    const code = await main(
      ["demo", "--orders", "3", "--refunds", "1", "--log-level", "silent"],
      (text) => output.push(text),
      (text) => output.push(text),
    );
    const text = output.join("\n");
    assert.equal(code, 0, text);
    assert.match(text, /what each destination received/);
    assert.match(text, /events-file \(jsonl\): \d+ landed/);
    assert.match(text, /attempts failed during the outage/);
  });

  it("rejects an order count of zero", async () => {
    const errors: string[] = [];
    const code = await main(
      ["demo", "--orders", "0"],
      () => {},
      (text) => errors.push(text),
    );
    assert.equal(code, 2);
    assert.match(errors.join("\n"), /--orders must be a whole number/);
  });
});
