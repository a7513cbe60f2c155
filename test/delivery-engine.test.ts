import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";

import type { StoreOp } from "../src/store/store.ts";
import { FakeDownstream } from "./helpers/fake-downstream.ts";
import {
  orderLifecycle,
  sleep,
  startHarness,
  waitFor,
  type AdapterSpec,
  type Harness,
} from "./helpers/delivery-harness.ts";

const SECRET = "Bearer sk_test_do_not_log_0123456789";

/** Builds the posting adapter under test plus an events file that takes every event. */
function adapters(
  downstream: FakeDownstream,
  overrides: Partial<AdapterSpec> = {},
): AdapterSpec[] {
  return [
    {
      name: "pos",
      type: "http-test",
      options: { url: downstream.url, authorization: SECRET },
      ...overrides,
    },
    { name: "events-file", type: "jsonl", options: { path: "events.jsonl" } },
  ];
}

describe("outbox", () => {
  let downstream: FakeDownstream;
  let harness: Harness;

  beforeEach(async () => {
    downstream = new FakeDownstream();
    await downstream.listen();
  });
  afterEach(async () => {
    await harness?.stop();
    await downstream.close();
  });

  it("ingest commits events and deliveries together", async () => {
    harness = await startHarness({
      adapters: [
        ...adapters(downstream),
        {
          name: "refunds-only",
          type: "jsonl",
          options: { path: "refunds.jsonl" },
          events: ["order.refunded"],
        },
      ],
    });
    downstream.reply = () => "hold";
    const commits: StoreOp[][] = [];
    const store = harness.service.store;
    const commit = store.commit.bind(store);
    store.commit = async (ops) => {
      commits.push([...ops]);
      return commit(ops);
    };

    const [placed] = orderLifecycle();
    const answer = await harness.post(placed!);
    assert.equal(answer.status, 200);
    const eventIds = answer.body.events!.map((event) => event.id);
    assert.equal(eventIds.length, 1);

    const ingest = commits.find((ops) =>
      ops.some((op) => op.table === "events"),
    );
    assert.ok(ingest, "no commit wrote the event");
    const outbox = ingest.filter((op) => op.table === "outbox");
    const adaptersPlanned = outbox
      .map((op) => (op.value as { adapter: string }).adapter)
      .sort();
    assert.deepEqual(adaptersPlanned, ["events-file", "pos"]);
    for (const op of outbox) {
      assert.equal((op.value as { eventId: string }).eventId, eventIds[0]);
      assert.equal((op.value as { status: string }).status, "pending");
    }
    assert.equal(
      ingest.filter((op) => op.table === "orders").length,
      1,
      "the order row is in the same commit",
    );
  });

  it("worker delivers due deliveries and finishes them", async () => {
    harness = await startHarness({ adapters: adapters(downstream) });
    const [placed] = orderLifecycle();
    await harness.post(placed!);

    await waitFor(() => harness.service.engine.open.size === 0);
    assert.equal(downstream.received.length, 1);
    assert.equal(downstream.received[0]!.type, "order.created");
    const finished = await harness.service.engine.operations.list({
      status: "delivered",
    });
    assert.equal(finished.length, 2);
    for (const record of finished) {
      assert.equal(record.attempts, 1);
      assert.equal(record.deliveredAt, harness.clock.now());
      assert.equal(record.history[0]!.outcome, "delivered");
    }
  });
});

describe("ordering and concurrency", () => {
  let downstream: FakeDownstream;
  let harness: Harness;

  beforeEach(async () => {
    downstream = new FakeDownstream();
    await downstream.listen();
  });
  afterEach(async () => {
    downstream.release();
    await harness?.stop();
    await downstream.close();
  });

  it("refund never reaches an adapter before creation", async () => {
    harness = await startHarness({ adapters: adapters(downstream) });
    const failedOnce = new Set<string>();
    // Every event fails once with 503 before it is accepted, so each one is retried.
    downstream.reply = (request) => {
      if (failedOnce.has(request.eventId)) return { status: 200 };
      failedOnce.add(request.eventId);
      return { status: 503 };
    };

    let total = 0;
    for (const snapshot of orderLifecycle()) {
      const answer = await harness.post(snapshot);
      total += answer.body.events!.length;
    }
    assert.equal(total, 14);

    await harness.drive(() => downstream.accepted().length === total, 60_000);
    const accepted = downstream.accepted();
    const sequences = accepted.map((request) => request.sequence);
    assert.deepEqual(
      sequences,
      [...sequences].sort((a, b) => a - b),
    );
    assert.equal(new Set(sequences).size, total);
    const types = accepted.map((request) => request.type);
    assert.equal(types[0], "order.created");
    assert.ok(types.indexOf("order.refunded") > types.indexOf("order.created"));
    assert.equal(downstream.received.length, 2 * total);
    assert.equal(downstream.maxInFlightPerOrder, 1);
  });

  it("parallel orders stop at default concurrency", async () => {
    harness = await startHarness({ adapters: adapters(downstream) });
    downstream.reply = () => "hold";
    for (let index = 0; index < 6; index += 1) {
      const [placed] = orderLifecycle();
      await harness.post(placed!);
    }

    await waitFor(() => downstream.heldCount === 4, 5_000, "4 held requests");
    harness.service.engine.tick();
    await sleep(100);
    assert.equal(downstream.heldCount, 4);
    assert.equal(downstream.maxInFlight, 4);
    assert.equal(harness.service.engine.runningCount, 4 + 0);

    downstream.release();
    await waitFor(() => downstream.heldCount === 2, 5_000, "2 more requests");
    downstream.reply = () => ({ status: 200 });
    downstream.release();
    await waitFor(() => harness.open("pos").length === 0);
    assert.equal(downstream.received.length, 6);
    assert.equal(downstream.maxInFlight, 4);
  });

  it("configured concurrency of 2 holds two orders", async () => {
    harness = await startHarness({
      adapters: adapters(downstream, { concurrency: 2 }),
    });
    downstream.reply = () => "hold";
    for (let index = 0; index < 3; index += 1) {
      const [placed] = orderLifecycle();
      await harness.post(placed!);
    }
    await waitFor(() => downstream.heldCount === 2, 5_000, "2 held requests");
    await sleep(100);
    assert.equal(downstream.maxInFlight, 2);
  });

  it("alert waits for the order's running delivery", async () => {
    const other = new FakeDownstream();
    await other.listen();
    try {
      harness = await startHarness({
        adapters: [
          ...adapters(downstream),
          { name: "alerts", type: "http-test", options: { url: other.url } },
        ],
      });
      downstream.reply = () => ({ status: 400 });
      other.reply = (request) =>
        request.type === "order.created" ? "hold" : { status: 200 };
      const [placed] = orderLifecycle();
      await harness.post(placed!);

      await waitFor(() => harness.open("pos")[0]?.status === "dead");
      await waitFor(() => other.heldCount === 1, 5_000, "held creation");
      harness.service.engine.tick();
      await sleep(100);
      assert.equal(other.received.length, 1, "alert sent while creation ran");

      other.release();
      await waitFor(() => other.received.length === 2, 5_000, "the alert");
      assert.equal(other.received[1]!.type, "delivery.dead_lettered");
      assert.equal(other.maxInFlightPerOrder, 1);
    } finally {
      other.release();
      await harness.stop();
      await other.close();
    }
  });

  it("dead alert does not hold back the order", async () => {
    const other = new FakeDownstream();
    await other.listen();
    try {
      harness = await startHarness({
        adapters: [
          ...adapters(downstream),
          { name: "alerts", type: "http-test", options: { url: other.url } },
        ],
      });
      downstream.reply = (request) =>
        request.type === "order.created" ? { status: 400 } : { status: 200 };
      other.reply = (request) =>
        request.type === "delivery.dead_lettered"
          ? { status: 400 }
          : { status: 200 };
      const [placed, accepted] = orderLifecycle();
      await harness.post(placed!);
      await waitFor(() =>
        harness.open("alerts").some((record) => record.status === "dead"),
      );
      await harness.post(accepted!);

      await waitFor(
        () => other.accepted().length === 4,
        5_000,
        "the order's 4 events",
      );
      assert.deepEqual(
        other.accepted().map((request) => request.sequence),
        [1, 2, 3, 4],
      );
    } finally {
      await harness.stop();
      await other.close();
    }
  });

  it("idempotency key stays the same across retries", async () => {
    harness = await startHarness({ adapters: adapters(downstream) });
    let calls = 0;
    downstream.reply = () => ({ status: ++calls <= 2 ? 503 : 200 });
    const [placed] = orderLifecycle();
    await harness.post(placed!);

    await harness.drive(
      () => calls >= 3 && harness.open("pos").length === 0,
      60_000,
    );
    const keys = downstream.received.map((request) => request.idempotencyKey);
    assert.equal(keys.length, 3);
    assert.ok(keys[0], "no Idempotency-Key header");
    assert.equal(new Set(keys).size, 1);
    const [record] = await harness.service.engine.operations.list({
      status: "delivered",
      adapter: "pos",
    });
    assert.equal(record!.idempotencyKey, keys[0]);
    assert.equal(record!.attempts, 3);
    assert.deepEqual(
      record!.history.map((entry) => entry.outcome),
      ["transient", "transient", "delivered"],
    );
  });
});
