import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { fileURLToPath } from "node:url";

import { FileStore } from "../src/store/store.ts";
import { demoConfig, DEMO_AUTH, waitFor } from "./helpers/service.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SAMPLE = await readFile(
  join(ROOT, "test/fixtures/sample-order.json"),
  "utf8",
);
const SAMPLE_ORDER_ID = "bc960165-aa17-4506-abdc-0b1c26e44ff9";

/** Clients posting at the same time, and how long they post before the kill. */
const CLIENTS = 16;
const LOAD_MS = 1_500;
/** Requests each client sends at most, so the load stays bounded if the service is slow. */
const MAX_REQUESTS_PER_CLIENT = 2_000;

const folders: string[] = [];
const children: ChildProcess[] = [];
after(async () => {
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null && !child.signalCode)
      process.kill(child.pid, "SIGKILL");
  }
  for (const folder of folders)
    await rm(folder, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts `bbot-bridge serve` as a child process and waits until `/healthz` returns 200. */
async function startChild(
  configFile: string,
  dataDir: string,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "src/cli/run.ts", "serve"],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        HOST: "127.0.0.1",
        BBOT_BRIDGE_CONFIG: configFile,
        BBOT_BRIDGE_DATA_DIR: dataDir,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  children.push(child);
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  });

  await waitFor(
    async () => {
      if (child.exitCode !== null) {
        throw new Error(
          `the service exited with code ${child.exitCode}:\n${output}`,
        );
      }
      const response = await fetch(`${url}/healthz`).catch(() => undefined);
      return response?.ok;
    },
    15_000,
    "the service to answer /healthz",
  );
  return { child, url, output: () => output };
}

/** Builds a new order's webhook body: the sample with its own order id and the current time. */
function newOrderBody(orderId: string): string {
  const now = new Date().toISOString().replace("Z", "000Z");
  return SAMPLE.replaceAll(SAMPLE_ORDER_ID, orderId)
    .replace(/"time": "[^"]*"/, `"time": "${now}"`)
    .replace(/"last_modified": "[^"]*"/, `"last_modified": "${now}"`);
}

/**
 * Posts new orders from one client until `stopAt` and returns the ids acknowledged with a
 * 2xx. A request cut off by the kill is not acknowledged and so is not returned.
 */
async function postOrders(
  url: string,
  client: number,
  stopAt: number,
): Promise<string[]> {
  const acknowledged: string[] = [];
  for (let index = 0; index < MAX_REQUESTS_PER_CLIENT; index += 1) {
    if (Date.now() >= stopAt) break;
    const orderId = `0000${client.toString(16).padStart(4, "0")}-0000-4000-8000-${index.toString(16).padStart(12, "0")}`;
    try {
      const response = await fetch(`${url}/webhooks/bbot`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: DEMO_AUTH,
        },
        body: newOrderBody(orderId),
      });
      await response.arrayBuffer();
      if (response.status >= 200 && response.status < 300)
        acknowledged.push(orderId);
    } catch {
      // The service was killed while this request was in flight.
      break;
    }
  }
  return acknowledged;
}

async function createdOrderIds(eventsFile: string): Promise<Set<string>> {
  const text = await readFile(eventsFile, "utf8").catch(() => "");
  const ids = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let event: { type?: string; orderId?: string };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      // The kill can cut the last appended line short, and that delivery then runs again.
      continue;
    }
    if (event.type === "order.created" && event.orderId) ids.add(event.orderId);
  }
  return ids;
}

async function storedOrderIds(dataDir: string): Promise<Set<string>> {
  const store = new FileStore({
    dataDir,
    compactIntervalMs: 60_000,
    journalMaxBytes: 1 << 24,
    partitionIdleMs: 60_000,
    clock: { now: () => Date.now() },
  });
  await store.open();
  const ids = new Set<string>();
  try {
    for (const partition of await store.partitions("orders")) {
      for (const [key] of await store.rows("orders", partition)) ids.add(key);
    }
  } finally {
    await store.close();
  }
  return ids;
}

it("kill -9 under load loses no acknowledged order", async (t) => {
  const folder = await mkdtemp(join(tmpdir(), "bbot-kill-"));
  folders.push(folder);
  const dataDir = join(folder, "data");
  const configFile = join(folder, "config.json");
  await writeFile(configFile, JSON.stringify(demoConfig()));

  const first = await startChild(configFile, dataDir);
  const stopAt = Date.now() + LOAD_MS;
  const clients = Array.from({ length: CLIENTS }, (_, client) =>
    postOrders(first.url, client, stopAt + 5_000),
  );

  // Kill while every client still has a request in flight.
  await new Promise((resolve) => setTimeout(resolve, LOAD_MS));
  const exited = once(first.child, "exit");
  process.kill(first.child.pid!, "SIGKILL");
  await exited;
  const acknowledged = (await Promise.all(clients)).flat();
  assert.ok(
    acknowledged.length >= 50,
    `only ${acknowledged.length} webhooks were answered 2xx before the kill; the load was too small to test anything`,
  );

  t.diagnostic(`${acknowledged.length} webhooks answered 2xx before the kill`);

  const second = await startChild(configFile, dataDir);
  const eventsFile = join(dataDir, "events.jsonl");
  const delivered = await waitFor(
    async () => {
      const created = await createdOrderIds(eventsFile);
      return acknowledged.every((id) => created.has(id)) && created;
    },
    10_000,
    "every acknowledged order's order.created event in events.jsonl",
  ).catch(async (error: Error) => {
    const created = await createdOrderIds(eventsFile);
    const missing = acknowledged.filter((id) => !created.has(id));
    throw new Error(
      `${missing.length} of ${acknowledged.length} acknowledged orders have no order.created event, such as ${missing.slice(0, 3).join(", ")}`,
      { cause: error },
    );
  });
  assert.ok(delivered.size >= acknowledged.length);

  const exitedAgain = once(second.child, "exit");
  process.kill(second.child.pid!, "SIGTERM");
  await exitedAgain;
  const stored = await storedOrderIds(dataDir);
  const missing = acknowledged.filter((id) => !stored.has(id));
  assert.deepEqual(
    missing,
    [],
    `${missing.length} acknowledged orders are not in the store`,
  );
});
