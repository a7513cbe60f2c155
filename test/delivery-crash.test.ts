import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, it } from "node:test";

import {
  FakeDownstream,
  type ReceivedRequest,
} from "./helpers/fake-downstream.ts";
import {
  orderLifecycle,
  postWebhook,
  startHarness,
  waitFor,
  type Harness,
} from "./helpers/delivery-harness.ts";

const ENTRY = fileURLToPath(
  new URL("./helpers/serve-with-test-adapters.ts", import.meta.url),
);

/** A service child process and the URL it printed in its "listening" log line. */
interface Child {
  process: ChildProcess;
  url: string;
  exited: Promise<void>;
}

/** Starts the service in a child process and waits (at most 20 s) until it listens. */
async function startChild(configFile: string, dataDir: string): Promise<Child> {
  const child = spawn(process.execPath, ["--import", "tsx", ENTRY], {
    env: {
      PATH: process.env.PATH ?? "",
      BBOT_BRIDGE_CONFIG: configFile,
      BBOT_BRIDGE_DATA_DIR: dataDir,
      PORT: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => resolve()),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error("the child did not listen within 20 s")),
      20_000,
    );
    child.once("exit", (code) =>
      reject(new Error(`the child exited with code ${code}`)),
    );
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const parsed = JSON.parse(line) as { msg?: string; url?: string };
      if (parsed.msg === "bbot-bridge listening" && parsed.url) {
        clearTimeout(timer);
        resolve(parsed.url);
      }
    });
  });
  return { process: child, url, exited };
}

/** Ends a child this test started, by its pid, and waits for it to exit. */
async function endChild(
  child: Child | undefined,
  signal: NodeJS.Signals,
): Promise<void> {
  if (
    !child ||
    child.process.exitCode !== null ||
    child.process.signalCode !== null
  )
    return;
  child.process.kill(signal);
  await child.exited;
}

describe("crash safety", () => {
  const children: Child[] = [];
  let downstream: FakeDownstream;
  let dataDir: string;

  afterEach(async () => {
    for (const child of children.splice(0)) await endChild(child, "SIGKILL");
    await downstream?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("delivery in flight at SIGKILL arrives after restart", async () => {
    downstream = new FakeDownstream();
    await downstream.listen();
    downstream.reply = () => "hold";
    dataDir = await mkdtemp(join(tmpdir(), "bbot-crash-"));
    const configFile = join(dataDir, "config.json");
    await writeFile(
      configFile,
      JSON.stringify({
        store: { compactIntervalMs: 200 },
        logging: { level: "info" },
        restaurants: [
          {
            id: "demo",
            name: "Demo Bistro",
            bbotRestaurantId: "ecde3351-606c-4971-ab5a-792bccb0e5e2",
            timeZone: "America/New_York",
            auth: { username: "demo", password: "demo" },
            adapters: [
              {
                name: "pos",
                type: "http-test",
                timeoutMs: 60_000,
                options: { url: downstream.url },
              },
            ],
          },
        ],
      }),
    );

    const first = await startChild(configFile, join(dataDir, "data"));
    children.push(first);
    const [placed] = orderLifecycle();
    const answer = await postWebhook(first.url, placed!);
    assert.equal(answer.status, 200);
    await waitFor(() => downstream.heldCount === 1, 10_000, "the held request");

    await endChild(first, "SIGKILL");
    assert.equal(first.process.signalCode, "SIGKILL");
    downstream.reply = () => ({ status: 200 });

    const second = await startChild(configFile, join(dataDir, "data"));
    children.push(second);
    const accepted = await waitFor(
      () =>
        downstream.accepted().length === 1 ? downstream.accepted() : undefined,
      15_000,
      "the delivery after restart",
    );
    assert.equal(downstream.received.length, 2);
    assert.equal(accepted[0]!.eventId, answer.body.events![0]!.id);
    assert.equal(
      downstream.received[0]!.idempotencyKey,
      downstream.received[1]!.idempotencyKey,
      "the retry after restart changed the idempotency key",
    );
    await endChild(second, "SIGTERM");
    assert.equal(second.process.exitCode, 0);
  });
});

describe("downstream outage", () => {
  let downstream: FakeDownstream;
  let harness: Harness;

  afterEach(async () => {
    await harness?.stop();
    await downstream?.close();
  });

  it("every event arrives once and in order after an outage", async () => {
    downstream = new FakeDownstream();
    await downstream.listen();
    harness = await startHarness({
      adapters: [
        { name: "pos", type: "http-test", options: { url: downstream.url } },
      ],
    });
    const lifecycles = Array.from({ length: 5 }, () => orderLifecycle());
    let total = 0;
    for (const lifecycle of lifecycles)
      total += (await harness.post(lifecycle[0]!)).body.events!.length;
    await waitFor(() => downstream.accepted().length === lifecycles.length);

    await downstream.close();
    for (let step = 1; step < 6; step += 1) {
      for (const lifecycle of lifecycles)
        total += (await harness.post(lifecycle[step]!)).body.events!.length;
    }
    // Ten minutes of refused connections: retries fail and the breaker opens.
    for (let minute = 0; minute < 20; minute += 1) {
      harness.clock.advance(30_000);
      harness.service.engine.tick();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const failed = harness.open("pos").filter((record) => record.attempts > 0);
    assert.ok(failed.length > 0, "no attempt failed during the outage");
    assert.ok(
      harness.logs.matching("circuit breaker closed -> open").length >= 1,
    );
    assert.equal(harness.open("pos").length, total - lifecycles.length);

    await downstream.listen();
    await harness.drive(() => harness.open("pos").length === 0, 30_000, 30_000);

    const accepted = downstream.accepted();
    assert.equal(accepted.length, total);
    const keys = accepted.map((request) => request.idempotencyKey);
    assert.equal(new Set(keys).size, total, "an event arrived twice");
    const byOrder = new Map<string, ReceivedRequest[]>();
    for (const request of accepted) {
      const list = byOrder.get(request.orderId!) ?? [];
      list.push(request);
      byOrder.set(request.orderId!, list);
    }
    assert.equal(byOrder.size, lifecycles.length);
    for (const [orderId, requests] of byOrder) {
      assert.deepEqual(
        requests.map((request) => request.sequence),
        Array.from({ length: 14 }, (_, index) => index + 1),
        `order ${orderId} arrived out of order`,
      );
    }
  });
});
