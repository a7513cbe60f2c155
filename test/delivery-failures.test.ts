import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";

import type { DeliveryRecord } from "../src/delivery/records.ts";
import { SAMPLE_PERSONAL_VALUES } from "./helpers/adapter-contract.ts";
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

function adapters(
  url: string,
  overrides: Partial<AdapterSpec> = {},
): AdapterSpec[] {
  return [
    {
      name: "pos",
      type: "http-test",
      options: { url, authorization: SECRET },
      ...overrides,
    },
    { name: "events-file", type: "jsonl", options: { path: "events.jsonl" } },
  ];
}

/** Finds the open `pos` delivery of an order. */
function posRecord(
  harness: Harness,
  orderId: string,
): DeliveryRecord | undefined {
  return harness.open("pos").find((record) => record.orderId === orderId);
}

async function placeOrder(harness: Harness): Promise<string> {
  const [placed] = orderLifecycle();
  const answer = await harness.post(placed!);
  assert.equal(answer.status, 200);
  return placed!.order.id;
}

async function jsonlEvents(harness: Harness): Promise<Record<string, any>[]> {
  const text = await readFile(
    join(harness.dataDir, "events.jsonl"),
    "utf8",
  ).catch(() => "");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, any>);
}

describe("transient failures", () => {
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

  it("retryable statuses are retried with backoff", async () => {
    // A high threshold keeps the breaker closed, so every order gets its first attempt.
    harness = await startHarness({
      adapters: adapters(downstream.url, {
        breaker: { failureThreshold: 100 },
      }),
    });
    const statuses = [408, 425, 429, 500, 502, 503, 504];
    const statusOfOrder = new Map<string, number>();
    const failed = new Set<string>();
    downstream.reply = (request) => {
      if (failed.has(request.orderId!)) return { status: 200 };
      failed.add(request.orderId!);
      return { status: statusOfOrder.get(request.orderId!)!, body: "busy" };
    };
    for (const status of statuses) {
      const [placed] = orderLifecycle();
      statusOfOrder.set(placed!.order.id, status);
      await harness.post(placed!);
    }
    const failedAt = harness.clock.now();

    await waitFor(
      () => harness.open("pos").every((record) => record.attempts === 1),
      5_000,
      "one failed attempt per order",
    );
    for (const record of harness.open("pos")) {
      const status = statusOfOrder.get(record.orderId!)!;
      assert.equal(record.status, "pending", `HTTP ${status}`);
      assert.equal(record.lastError?.status, status);
      assert.equal(record.lastError?.bodyExcerpt, "busy");
      assert.equal(record.history[0]?.outcome, "transient");
      // Default schedule: 30 s before the second attempt, spread by ±20 %.
      const delay = record.nextAttemptAt - failedAt;
      assert.ok(delay >= 24_000, `HTTP ${status}: ${delay} ms`);
      assert.ok(delay <= 36_000, `HTTP ${status}: ${delay} ms`);
    }

    await harness.drive(() => harness.open("pos").length === 0, 5_000);
    assert.equal(downstream.accepted().length, statuses.length);
  });

  it("connection refused is retried until it connects", async () => {
    const closed = new FakeDownstream();
    await closed.listen();
    const url = closed.url;
    await closed.close();
    harness = await startHarness({ adapters: adapters(url) });
    const orderId = await placeOrder(harness);

    const record = await waitFor(() => {
      const found = posRecord(harness, orderId);
      return found && found.attempts >= 1 ? found : undefined;
    });
    assert.equal(record.status, "pending");
    assert.match(record.lastError!.message, /ECONNREFUSED/);
    assert.equal(record.lastError!.status, undefined);

    await closed.listen();
    try {
      await harness.drive(
        () => posRecord(harness, orderId) === undefined,
        10_000,
      );
      assert.equal(closed.accepted().length, 1);
    } finally {
      await closed.close();
    }
  });

  it("attempt hanging past timeoutMs is retried", async () => {
    harness = await startHarness({
      adapters: adapters(downstream.url, { timeoutMs: 200 }),
    });
    downstream.reply = () => "hold";
    const orderId = await placeOrder(harness);

    const record = await waitFor(() => {
      const found = posRecord(harness, orderId);
      return found && found.attempts === 1 ? found : undefined;
    });
    assert.equal(record.status, "pending");
    assert.match(record.lastError!.message, /timed out/);
    assert.ok(record.history[0]!.durationMs >= 150);

    downstream.reply = () => ({ status: 200 });
    await harness.drive(
      () => posRecord(harness, orderId) === undefined,
      10_000,
    );
    assert.equal(downstream.accepted().length, 1);
  });

  it("Retry-After in seconds sets the next attempt", async () => {
    harness = await startHarness({ adapters: adapters(downstream.url) });
    downstream.reply = () => ({
      status: 503,
      headers: { "Retry-After": "120" },
    });
    const orderId = await placeOrder(harness);

    const record = await waitFor(() => {
      const found = posRecord(harness, orderId);
      return found && found.attempts === 1 ? found : undefined;
    });
    assert.equal(record.nextAttemptAt, harness.clock.now() + 120_000);

    downstream.reply = () => ({ status: 200 });
    harness.clock.advance(119_000);
    harness.service.engine.tick();
    await sleep(50);
    assert.equal(downstream.received.length, 1, "retried before Retry-After");
    harness.clock.advance(1_000);
    harness.service.engine.tick();
    await waitFor(() => posRecord(harness, orderId) === undefined);
  });

  it("Retry-After as an HTTP date sets the next attempt", async () => {
    harness = await startHarness({ adapters: adapters(downstream.url) });
    const date = new Date(harness.clock.now() + 300_000).toUTCString();
    downstream.reply = () => ({
      status: 429,
      headers: { "Retry-After": date },
    });
    const orderId = await placeOrder(harness);

    const record = await waitFor(() => {
      const found = posRecord(harness, orderId);
      return found && found.attempts === 1 ? found : undefined;
    });
    assert.equal(record.nextAttemptAt, harness.clock.now() + 300_000);
  });

  it("Retry-After is capped at maxDelayMs", async () => {
    harness = await startHarness({
      adapters: adapters(downstream.url, { retry: { maxDelayMs: 60_000 } }),
    });
    downstream.reply = () => ({
      status: 429,
      headers: { "Retry-After": "86400" },
    });
    const orderId = await placeOrder(harness);

    const record = await waitFor(() => {
      const found = posRecord(harness, orderId);
      return found && found.attempts === 1 ? found : undefined;
    });
    assert.equal(record.nextAttemptAt, harness.clock.now() + 60_000);
  });

  it("gives up after maxAttempts into dead letters", async () => {
    harness = await startHarness({
      adapters: adapters(downstream.url, {
        retry: { maxAttempts: 3, initialDelayMs: 1_000, jitter: 0 },
      }),
    });
    downstream.reply = () => ({ status: 500 });
    const orderId = await placeOrder(harness);

    const record = await harness.drive(() => {
      const found = posRecord(harness, orderId);
      return found?.status === "dead" ? found : undefined;
    }, 1_000);
    assert.equal(record.attempts, 3);
    assert.equal(downstream.received.length, 3);
    assert.match(
      record.reason!,
      /^gave up after 3 attempts: destination answered HTTP 500/,
    );
    assert.deepEqual(
      record.history.map((entry) => [
        entry.attempt,
        entry.outcome,
        entry.status,
      ]),
      [
        [1, "transient", 500],
        [2, "transient", 500],
        [3, "transient", 500],
      ],
    );
    const alerts = await waitFor(async () => {
      const events = await jsonlEvents(harness);
      const found = events.filter(
        (event) => event.type === "delivery.dead_lettered",
      );
      return found.length > 0 ? found : undefined;
    });
    assert.equal(alerts[0]!.change.deliveryId, record.id);
  });
});

describe("permanent failures", () => {
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

  it("4xx goes straight to dead letters", async () => {
    harness = await startHarness({ adapters: adapters(downstream.url) });
    const statuses = [400, 401, 403, 404, 409, 422];
    const statusOfOrder = new Map<string, number>();
    downstream.reply = (request) => ({
      status: statusOfOrder.get(request.orderId!) ?? 200,
      body: JSON.stringify({ error: "rejected", order: request.orderId }),
    });
    for (const status of statuses) {
      const [placed] = orderLifecycle();
      statusOfOrder.set(placed!.order.id, status);
      await harness.post(placed!);
    }

    await waitFor(
      () =>
        harness.open("pos").length === statuses.length &&
        harness.open("pos").every((record) => record.status === "dead"),
      5_000,
      "every delivery dead",
    );
    for (const record of harness.open("pos")) {
      const status = statusOfOrder.get(record.orderId!)!;
      assert.equal(record.attempts, 1, `HTTP ${status}`);
      assert.equal(record.reason, `destination answered HTTP ${status}`);
      assert.equal(record.lastError!.status, status);
      assert.match(record.lastError!.bodyExcerpt!, /rejected/);
      assert.equal(record.history[0]!.outcome, "permanent");
    }
    assert.equal(downstream.received.length, statuses.length);
  });

  it("dead letter alerts the restaurant's other adapters", async () => {
    harness = await startHarness({ adapters: adapters(downstream.url) });
    downstream.reply = (request) =>
      request.type === "delivery.dead_lettered"
        ? { status: 200 }
        : { status: 400, body: "bad" };
    const orderId = await placeOrder(harness);

    const dead = await waitFor(() => {
      const found = posRecord(harness, orderId);
      return found?.status === "dead" ? found : undefined;
    });
    const alerts = await waitFor(async () => {
      const events = await jsonlEvents(harness);
      const found = events.filter(
        (event) => event.type === "delivery.dead_lettered",
      );
      return found.length > 0 ? found : undefined;
    });
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.orderId, orderId);
    assert.deepEqual(alerts[0]!.change, {
      deliveryId: dead.id,
      adapter: "pos",
      eventId: dead.eventId,
      eventType: "order.created",
      attempts: 1,
      reason: "destination answered HTTP 400",
      orderNumberToday: 233,
      tableName: "Barge",
    });
    await sleep(100);
    assert.ok(
      downstream.received.every(
        (request) => request.type !== "delivery.dead_lettered",
      ),
      "the failing adapter was sent its own alert",
    );
  });

  it("body excerpt masks secrets", async () => {
    harness = await startHarness({ adapters: adapters(downstream.url) });
    const body = JSON.stringify({
      error: "invalid request",
      api_key: "sk_live_abc123",
      headers: { Authorization: "Bearer tok_abc123xyz" },
      slack: "xoxb-1111-2222-abcdef",
      detail: "x".repeat(1_000),
    });
    downstream.reply = () => ({ status: 400, body });
    const orderId = await placeOrder(harness);

    const dead = await waitFor(() => {
      const found = posRecord(harness, orderId);
      return found?.status === "dead" ? found : undefined;
    });
    const excerpt = dead.lastError!.bodyExcerpt!;
    assert.match(excerpt, /invalid request/);
    for (const secret of ["sk_live_abc123", "tok_abc123xyz", "xoxb-1111"])
      assert.ok(!excerpt.includes(secret), `excerpt contains ${secret}`);
    assert.ok(excerpt.length <= 301, `excerpt is ${excerpt.length} characters`);
  });

  it("dead head holds back the order's later events", async () => {
    harness = await startHarness({ adapters: adapters(downstream.url) });
    downstream.reply = (request) =>
      request.type === "order.created" ? { status: 400 } : { status: 200 };
    const [placed, accepted] = orderLifecycle();
    await harness.post(placed!);
    await harness.post(accepted!);

    await waitFor(() => harness.open("pos")[0]?.status === "dead");
    harness.clock.advance(60_000);
    harness.service.engine.tick();
    await sleep(100);
    assert.equal(downstream.received.length, 1);
    assert.deepEqual(
      harness.open("pos").map((record) => record.status),
      ["dead", "pending", "pending", "pending"],
    );
  });
});

describe("circuit breaker", () => {
  let downstream: FakeDownstream;
  let harness: Harness;
  const breakerAdapters = (url: string) =>
    adapters(url, {
      concurrency: 1,
      retry: { initialDelayMs: 1_000, jitter: 0 },
      breaker: { failureThreshold: 3, cooldownMs: 60_000 },
    });

  beforeEach(async () => {
    downstream = new FakeDownstream();
    await downstream.listen();
  });
  afterEach(async () => {
    await harness?.stop();
    await downstream.close();
  });

  async function openBreaker(orders: number): Promise<void> {
    downstream.reply = () => ({ status: 503 });
    for (let index = 0; index < orders; index += 1) await placeOrder(harness);
    await harness.drive(
      () =>
        harness.logs.matching("circuit breaker closed -> open").length === 1,
      500,
    );
  }

  it("opens after consecutive failures and spends no attempts", async () => {
    harness = await startHarness({ adapters: breakerAdapters(downstream.url) });
    await openBreaker(5);
    const openedAt = harness.clock.now();
    assert.equal(downstream.received.length, 3);
    const attemptsBefore = harness.open("pos").map((record) => record.attempts);
    assert.equal(
      attemptsBefore.reduce((sum, value) => sum + value, 0),
      3,
    );

    for (let step = 0; step < 50; step += 1) {
      harness.clock.advance(1_000);
      harness.service.engine.tick();
      await sleep(2);
    }
    assert.ok(harness.clock.now() - openedAt < 60_000);
    assert.equal(downstream.received.length, 3, "attempted while open");
    assert.deepEqual(
      harness.open("pos").map((record) => record.attempts),
      attemptsBefore,
    );
    assert.ok(
      harness.open("pos").every((record) => record.status === "pending"),
    );
    assert.equal(harness.open("pos").length, 5);
  });

  it("probes with one delivery then closes", async () => {
    harness = await startHarness({ adapters: breakerAdapters(downstream.url) });
    await openBreaker(5);
    const openedAt = harness.clock.now();
    downstream.reply = () => "hold";

    harness.clock.time = openedAt + 60_000;
    harness.service.engine.tick();
    await waitFor(() => downstream.heldCount === 1, 5_000, "the probe");
    harness.service.engine.tick();
    await sleep(100);
    assert.equal(downstream.heldCount, 1, "more than one probe");
    assert.equal(
      harness.logs.matching("circuit breaker open -> half-open").length,
      1,
    );

    downstream.reply = () => ({ status: 200 });
    downstream.release();
    await harness.drive(() => harness.open("pos").length === 0, 1_000);
    assert.equal(
      harness.logs.matching("circuit breaker half-open -> closed").length,
      1,
    );
    assert.equal(downstream.accepted().length, 5);
  });

  it("failed probe reopens for twice the cooldown", async () => {
    harness = await startHarness({ adapters: breakerAdapters(downstream.url) });
    await openBreaker(5);
    const openedAt = harness.clock.now();

    harness.clock.time = openedAt + 60_000;
    harness.service.engine.tick();
    await waitFor(
      () =>
        harness.logs.matching("circuit breaker half-open -> open").length === 1,
    );
    const reopenedAt = harness.clock.now();
    assert.equal(downstream.received.length, 4);

    harness.clock.time = reopenedAt + 119_000;
    harness.service.engine.tick();
    await sleep(100);
    assert.equal(downstream.received.length, 4, "probed before 120 s");
    harness.clock.time = reopenedAt + 120_000;
    harness.service.engine.tick();
    await waitFor(() => downstream.received.length === 5);
  });
});

describe("delivery logs", () => {
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

  it("retry, dead letter and breaker lines carry ids", async () => {
    const closed = new FakeDownstream();
    await closed.listen();
    const url = closed.url;
    await closed.close();
    harness = await startHarness({
      adapters: adapters(url, {
        concurrency: 1,
        retry: { maxAttempts: 2, initialDelayMs: 1_000, jitter: 0 },
        breaker: { failureThreshold: 2, cooldownMs: 1_000 },
      }),
    });
    const orderId = await placeOrder(harness);
    await harness.drive(
      () => posRecord(harness, orderId)?.status === "dead",
      1_000,
    );

    const retry = harness.logs.matching("will retry");
    const dead = harness.logs.matching("moved to dead letters");
    const breaker = harness.logs.matching("circuit breaker");
    assert.equal(retry.length, 1);
    assert.equal(dead.length, 1);
    assert.ok(breaker.length >= 1);
    for (const line of [...retry, ...dead, ...breaker]) {
      assert.equal(line.orderId, orderId, line.msg);
      assert.equal(line.adapter, "pos", line.msg);
      assert.equal(typeof line.eventId, "string", line.msg);
      assert.equal(typeof line.attempt, "number", line.msg);
    }
    assert.equal(retry[0]!.attempt, 1);
    assert.equal(dead[0]!.attempt, 2);
  });

  it("logs carry no secrets, bodies or guest data", async () => {
    harness = await startHarness({
      adapters: adapters(downstream.url, {
        retry: { initialDelayMs: 1_000, jitter: 0 },
      }),
    });
    let calls = 0;
    downstream.reply = () =>
      ++calls === 1
        ? { status: 503, body: '{"echo":"guest@example.com"}' }
        : { status: 400, body: '{"echo":"guest@example.com"}' };
    const orderId = await placeOrder(harness);
    await harness.drive(
      () => posRecord(harness, orderId)?.status === "dead",
      1_000,
    );

    const text = harness.logs.text.join("\n");
    assert.ok(
      !text.includes("sk_test_do_not_log"),
      "a log line contains the adapter's credential",
    );
    for (const value of SAMPLE_PERSONAL_VALUES)
      assert.ok(!text.includes(value), `a log line contains ${value}`);
    assert.ok(!text.includes('"echo"'), "a log line contains a response body");
  });
});
