import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, it } from "node:test";

import type { BulkResult } from "../src/delivery/operations.ts";
import type { DeliveryRecord } from "../src/delivery/records.ts";
import { FakeDownstream } from "./helpers/fake-downstream.ts";
import {
  orderLifecycle,
  sleep,
  startHarness,
  waitFor,
  type AdapterSpec,
  type Harness,
} from "./helpers/delivery-harness.ts";

const BIN = fileURLToPath(new URL("../bin/bbot-bridge.js", import.meta.url));
const HOUR = 3_600_000;

function adapters(url: string): AdapterSpec[] {
  return [
    { name: "pos", type: "http-test", options: { url } },
    { name: "events-file", type: "jsonl", options: { path: "events.jsonl" } },
  ];
}

async function admin<T>(
  harness: Harness,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  token: string | null = harness.adminToken,
): Promise<{ status: number; body: T; headers: Headers }> {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
  };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`${harness.service.url}/admin${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: response.status,
    body: (await response.json()) as T,
    headers: response.headers,
  };
}

async function placeOrder(harness: Harness): Promise<string> {
  const [placed] = orderLifecycle();
  assert.equal((await harness.post(placed!)).status, 200);
  return placed!.order.id;
}

function posRecord(
  harness: Harness,
  orderId: string,
): DeliveryRecord | undefined {
  return harness.open("pos").find((record) => record.orderId === orderId);
}

/** Runs the real CLI entry in a child process, bounded to 30 seconds. */
function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        env: { PATH: process.env.PATH ?? "", ...env },
        timeout: 30_000,
      },
      (error, stdout, stderr) => {
        let code = 0;
        if (error) code = typeof error.code === "number" ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("admin API access", () => {
  let harness: Harness;
  afterEach(() => harness?.stop());

  it("admin API is off without a token", async () => {
    harness = await startHarness({ adapters: [], adminToken: null });
    const answer = await admin(
      harness,
      "GET",
      "/deliveries",
      undefined,
      "anything",
    );
    assert.equal(answer.status, 404);
  });

  it("wrong or missing token gets 401", async () => {
    harness = await startHarness({ adapters: [] });
    const wrong = await admin(
      harness,
      "GET",
      "/deliveries",
      undefined,
      "wrong",
    );
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get("www-authenticate") ?? "", /^Bearer/);
    const missing = await admin(harness, "GET", "/deliveries", undefined, null);
    assert.equal(missing.status, 401);
    const right = await admin(harness, "GET", "/deliveries");
    assert.equal(right.status, 200);
  });
});

describe("operating deliveries", () => {
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

  /** Two dead letters an hour apart: orders A and B, created events to `pos`. */
  async function twoDeadLetters(): Promise<{
    a: string;
    b: string;
    t0: number;
  }> {
    harness = await startHarness({ adapters: adapters(downstream.url) });
    downstream.reply = () => ({ status: 422, body: "unknown table" });
    const t0 = harness.clock.now();
    const a = await placeOrder(harness);
    await waitFor(() => posRecord(harness, a)?.status === "dead");
    harness.clock.advance(HOUR);
    const b = await placeOrder(harness);
    await waitFor(() => posRecord(harness, b)?.status === "dead");
    await waitFor(() => harness.open("events-file").length === 0);
    return { a, b, t0 };
  }

  it("list filters by status, adapter, type and time", async () => {
    const { a, b, t0 } = await twoDeadLetters();
    type Listing = { deliveries: DeliveryRecord[] };

    const dead = await admin<Listing>(
      harness,
      "GET",
      "/deliveries?status=dead",
    );
    assert.equal(dead.status, 200);
    assert.deepEqual(
      dead.body.deliveries.map((record) => record.orderId),
      [b, a],
      "newest first",
    );
    const byType = await admin<Listing>(
      harness,
      "GET",
      "/deliveries?status=dead&restaurant=demo&adapter=pos&eventType=order.created",
    );
    assert.equal(byType.body.deliveries.length, 2);
    const other = await admin<Listing>(
      harness,
      "GET",
      "/deliveries?adapter=events-file",
    );
    assert.equal(other.body.deliveries.length, 0);
    const since = new Date(t0 + HOUR / 2).toISOString();
    const later = await admin<Listing>(
      harness,
      "GET",
      `/deliveries?status=dead&since=${since}`,
    );
    assert.deepEqual(
      later.body.deliveries.map((record) => record.orderId),
      [b],
    );
    const earlier = await admin<Listing>(
      harness,
      "GET",
      `/deliveries?status=dead&until=${since}`,
    );
    assert.deepEqual(
      earlier.body.deliveries.map((record) => record.orderId),
      [a],
    );
    const delivered = await admin<Listing>(
      harness,
      "GET",
      "/deliveries?status=delivered&adapter=events-file",
    );
    assert.ok(delivered.body.deliveries.length >= 2);
    const bad = await admin<{ error: string }>(
      harness,
      "GET",
      "/deliveries?status=lost",
    );
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /status/);
  });

  it("show returns one delivery with its history", async () => {
    const { a } = await twoDeadLetters();
    const id = posRecord(harness, a)!.id;
    const inspected = await admin<{ delivery: DeliveryRecord }>(
      harness,
      "GET",
      `/deliveries/${id}`,
    );
    assert.equal(inspected.status, 200);
    assert.equal(inspected.body.delivery.status, "dead");
    assert.equal(
      inspected.body.delivery.reason,
      "destination answered HTTP 422",
    );
    assert.equal(
      inspected.body.delivery.lastError?.bodyExcerpt,
      "unknown table",
    );
    assert.equal(inspected.body.delivery.history.length, 1);
    const missing = await admin(harness, "GET", "/deliveries/dlv_missing");
    assert.equal(missing.status, 404);
  });

  it("retry by id delivers with the same key", async () => {
    const { a, b } = await twoDeadLetters();
    const record = posRecord(harness, a)!;
    downstream.reply = () => ({ status: 200 });

    const retried = await admin<BulkResult>(
      harness,
      "POST",
      "/deliveries/retry",
      {
        ids: [record.id],
      },
    );
    assert.equal(retried.status, 200);
    assert.deepEqual(retried.body.changed, [record.id]);
    await waitFor(() => posRecord(harness, a) === undefined);
    assert.equal(
      posRecord(harness, b)?.status,
      "dead",
      "retried more than asked",
    );
    const last = downstream.received.at(-1)!;
    assert.equal(last.idempotencyKey, record.idempotencyKey);
    const finished = await harness.service.engine.operations.get(record.id);
    assert.equal(finished?.status, "delivered");
    assert.deepEqual(
      finished?.history.map((entry) => entry.outcome),
      ["permanent", "delivered"],
    );
  });

  it("retry by filter takes only matching dead letters", async () => {
    const { a, b, t0 } = await twoDeadLetters();
    downstream.reply = () => ({ status: 200 });
    const none = await admin<BulkResult>(harness, "POST", "/deliveries/retry", {
      eventType: "order.refunded",
    });
    assert.equal(none.body.matched, 0);

    const since = new Date(t0 + HOUR / 2).toISOString();
    const retried = await admin<BulkResult>(
      harness,
      "POST",
      "/deliveries/retry",
      {
        restaurant: "demo",
        adapter: "pos",
        eventType: "order.created",
        since,
      },
    );
    assert.equal(retried.body.matched, 1);
    await waitFor(() => posRecord(harness, b) === undefined);
    assert.equal(posRecord(harness, a)?.status, "dead");
  });

  it("discard keeps the reason and frees the order", async () => {
    harness = await startHarness({ adapters: adapters(downstream.url) });
    downstream.reply = (request) =>
      request.type === "order.created" ? { status: 400 } : { status: 200 };
    const [placed, accepted] = orderLifecycle();
    await harness.post(placed!);
    await harness.post(accepted!);
    const orderId = placed!.order.id;
    await waitFor(() => posRecord(harness, orderId)?.status === "dead");
    const id = posRecord(harness, orderId)!.id;

    const noReason = await admin<{ error: string }>(
      harness,
      "POST",
      "/deliveries/discard",
      {
        ids: [id],
      },
    );
    assert.equal(noReason.status, 400);
    assert.match(noReason.body.error, /reason/);

    const discarded = await admin<BulkResult>(
      harness,
      "POST",
      "/deliveries/discard",
      {
        ids: [id],
        reason: "order voided in the POS by hand",
      },
    );
    assert.deepEqual(discarded.body.changed, [id]);
    const record = await harness.service.engine.operations.get(id);
    assert.equal(record?.status, "discarded");
    assert.equal(record?.reason, "order voided in the POS by hand");
    await waitFor(
      () => harness.open("pos").length === 0,
      5_000,
      "later events",
    );
    assert.equal(downstream.accepted().length, 3);
  });

  it("running delivery is neither discarded nor retried", async () => {
    harness = await startHarness({ adapters: adapters(downstream.url) });
    downstream.reply = () => "hold";
    const orderId = await placeOrder(harness);
    await waitFor(() => downstream.heldCount === 1);
    const id = posRecord(harness, orderId)!.id;

    const discarded = await admin<BulkResult>(
      harness,
      "POST",
      "/deliveries/discard",
      {
        ids: [id],
        reason: "test",
      },
    );
    assert.deepEqual(discarded.body.changed, []);
    assert.match(discarded.body.skipped[0]!.reason, /running/);
    const retried = await admin<BulkResult>(
      harness,
      "POST",
      "/deliveries/retry",
      {
        ids: [id],
      },
    );
    assert.deepEqual(retried.body.changed, []);

    downstream.release();
    await waitFor(() => posRecord(harness, orderId) === undefined);
    assert.equal(
      (await harness.service.engine.operations.get(id))?.status,
      "delivered",
    );
  });

  it("dead letter after a retry raises a new alert", async () => {
    const { a } = await twoDeadLetters();
    const id = posRecord(harness, a)!.id;
    harness.clock.advance(60_000);
    await admin(harness, "POST", "/deliveries/retry", { ids: [id] });
    await waitFor(() => posRecord(harness, a)?.history.length === 2);

    const alerts = await waitFor(async () => {
      const text = await readFile(
        join(harness.dataDir, "events.jsonl"),
        "utf8",
      );
      const found = text
        .split("\n")
        .filter((line) => line.includes('"delivery.dead_lettered"'))
        .map(
          (line) =>
            JSON.parse(line) as {
              idempotencyKey: string;
              change: { deliveryId: string };
            },
        )
        .filter((event) => event.change.deliveryId === id);
      return found.length === 2 ? found : undefined;
    });
    assert.notEqual(alerts[0]!.idempotencyKey, alerts[1]!.idempotencyKey);
  });

  it("prune drops delivered records past retention", async () => {
    const { a } = await twoDeadLetters();
    const operations = harness.service.engine.operations;
    const delivered = await operations.list({ status: "delivered" });
    assert.ok(delivered.length >= 2);

    harness.clock.advance(7 * 24 * HOUR);
    assert.equal(await operations.prune(7), 0, "pruned inside retention");
    harness.clock.advance(2 * 24 * HOUR);
    assert.ok((await operations.prune(7)) >= 1);
    assert.equal((await operations.list({ status: "delivered" })).length, 0);
    assert.equal(posRecord(harness, a)?.status, "dead", "dead letter pruned");
    assert.equal((await operations.list({ status: "dead" })).length, 2);
  });
});

describe("deliveries CLI", () => {
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

  it("CLI lists, shows, retries and discards", async () => {
    harness = await startHarness({ adapters: adapters(downstream.url) });
    downstream.reply = () => ({ status: 400, body: "no such table" });
    const a = await placeOrder(harness);
    const b = await placeOrder(harness);
    await waitFor(
      () =>
        harness.open("pos").every((record) => record.status === "dead") &&
        harness.open("pos").length === 2,
    );
    const idA = posRecord(harness, a)!.id;
    const idB = posRecord(harness, b)!.id;
    const env = { BBOT_BRIDGE_ADMIN_TOKEN: harness.adminToken };
    const url = ["--url", harness.service.url];

    const help = await cli(["deliveries", "--help"], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: bbot-bridge deliveries/);

    const table = await cli(["deliveries", "list", ...url], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID\s+STATUS\s+RESTAURANT\s+ADAPTER/);
    assert.ok(table.stdout.includes(idA));
    assert.ok(table.stdout.includes("destination answered HTTP 400"));

    const json = await cli(
      [
        "deliveries",
        "list",
        "--json",
        "--status",
        "dead",
        "--adapter",
        "pos",
        ...url,
      ],
      env,
    );
    assert.equal(json.code, 0, json.stderr);
    const listed = JSON.parse(json.stdout) as DeliveryRecord[];
    assert.deepEqual(
      listed.map((record) => record.id).sort(),
      [idA, idB].sort(),
    );

    const showOutput = await cli(["deliveries", "show", idA, ...url], env);
    assert.equal(showOutput.code, 0, showOutput.stderr);
    assert.match(
      showOutput.stdout,
      /status\s+dead \(destination answered HTTP 400\)/,
    );
    assert.match(showOutput.stdout, /response\s+no such table/);
    assert.match(showOutput.stdout, /ATTEMPT\s+AT\s+MS\s+OUTCOME/);

    downstream.reply = () => ({ status: 200 });
    const retried = await cli(["deliveries", "retry", idA, ...url], env);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, /1 matched, 1 retried/);
    await waitFor(() => posRecord(harness, a) === undefined);

    const noReason = await cli(["deliveries", "discard", idB, ...url], env);
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--reason/);
    const discarded = await cli(
      [
        "deliveries",
        "discard",
        "--event-type",
        "order.created",
        "--reason",
        "test order",
        "--json",
        ...url,
      ],
      env,
    );
    assert.equal(discarded.code, 0, discarded.stderr);
    assert.deepEqual((JSON.parse(discarded.stdout) as BulkResult).changed, [
      idB,
    ]);
    assert.equal(harness.open("pos").length, 0);

    const noToken = await cli(["deliveries", "list", ...url], {});
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /BBOT_BRIDGE_ADMIN_TOKEN is not set/);
    const wrongToken = await cli(["deliveries", "list", ...url], {
      BBOT_BRIDGE_ADMIN_TOKEN: "wrong",
    });
    assert.equal(wrongToken.code, 1);
    assert.match(wrongToken.stderr, /missing or invalid admin token/);
    await sleep(0);
  });
});
