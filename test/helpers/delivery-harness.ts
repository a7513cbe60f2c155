import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { BbotWebhook } from "../../src/bbot/payload.ts";
import { checkConfig } from "../../src/config/load.ts";
import type { BridgeConfig } from "../../src/config/schema.ts";
import type { DeliveryRecord } from "../../src/delivery/records.ts";
import { createLogger } from "../../src/logger.ts";
import { startService, type RunningService } from "../../src/service.ts";
import { testRegistry } from "./http-adapter.ts";
import { lifecycleSnapshots } from "./sample-events.ts";

/** The sample order's id in the lifecycle fixtures. */
export const SAMPLE_ORDER_ID = "bc960165-aa17-4506-abdc-0b1c26e44ff9";

/** A clock that moves only when a test moves it. Starts at a whole second, for HTTP dates. */
export class ManualClock {
  constructor(public time = Date.parse("2026-03-10T15:00:00Z")) {}

  now(): number {
    return this.time;
  }

  advance(ms: number): void {
    this.time += ms;
  }
}

/** One JSON log line as pino wrote it. */
export type LogLine = Record<string, unknown> & { msg: string; level: number };

/** Collects pino's JSON lines in memory, so tests can read what the service logged. */
export class LogCapture {
  readonly lines: LogLine[] = [];
  readonly text: string[] = [];

  write(chunk: string): void {
    for (const line of chunk.split("\n")) {
      if (line === "") continue;
      this.text.push(line);
      this.lines.push(JSON.parse(line) as LogLine);
    }
  }

  /** Lines whose message contains `fragment`. */
  matching(fragment: string): LogLine[] {
    return this.lines.filter((line) => line.msg.includes(fragment));
  }
}

/** Waits until `probe` returns a value other than undefined or false, polling every 10 ms. */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5_000,
  message = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** An adapter entry of the test config; `options` and the policies pass through the schema. */
export interface AdapterSpec {
  name: string;
  type: "http-test" | "jsonl";
  options: Record<string, unknown>;
  events?: string[];
  concurrency?: number;
  timeoutMs?: number;
  retry?: Record<string, number>;
  breaker?: Record<string, number>;
}

/** Builds a checked config of the demo restaurant with the given adapters. */
export function testConfig(
  adapters: AdapterSpec[],
  delivery: Record<string, number> = {},
): BridgeConfig {
  return checkConfig(
    "test config",
    {
      delivery: { pollIntervalMs: 20, ...delivery },
      store: { compactIntervalMs: 1000 },
      logging: { level: "debug" },
      restaurants: [
        {
          id: "demo",
          name: "Demo Bistro",
          bbotRestaurantId: "ecde3351-606c-4971-ab5a-792bccb0e5e2",
          timeZone: "America/New_York",
          auth: { username: "demo", password: "demo" },
          adapters: adapters.map((spec) => ({ events: ["*"], ...spec })),
        },
      ],
    },
    testRegistry,
    {},
  );
}

/** A service started in this process on 127.0.0.1, with a manual clock and captured logs. */
export interface Harness {
  service: RunningService;
  clock: ManualClock;
  logs: LogCapture;
  dataDir: string;
  adminToken: string;
  /** Posts a webhook with the demo credentials and returns the JSON response. */
  post(payload: BbotWebhook): Promise<{ status: number; body: WebhookBody }>;
  /** Moves the clock `stepMs` at a time and runs the worker until `probe` holds. */
  drive<T>(
    probe: () => T | undefined | false,
    stepMs: number,
    timeoutMs?: number,
  ): Promise<T>;
  /** Every open delivery of an adapter, oldest event first. */
  open(adapter: string): DeliveryRecord[];
  stop(): Promise<void>;
}

export interface WebhookBody {
  outcome?: string;
  events?: { id: string; type: string }[];
}

export async function startHarness(input: {
  adapters: AdapterSpec[];
  delivery?: Record<string, number>;
  adminToken?: string | null;
  dataDir?: string;
  clock?: ManualClock;
}): Promise<Harness> {
  const dataDir =
    input.dataDir ?? (await mkdtemp(join(tmpdir(), "bbot-delivery-")));
  const clock = input.clock ?? new ManualClock();
  const logs = new LogCapture();
  const adminToken =
    input.adminToken === null
      ? ""
      : (input.adminToken ?? `admin-${randomUUID()}`);
  const service = await startService({
    config: testConfig(input.adapters, input.delivery),
    registry: testRegistry,
    logger: createLogger({ level: "debug", destination: logs }),
    host: "127.0.0.1",
    port: 0,
    clock,
    dataDir,
    shutdownDeadlineMs: 200,
    ...(adminToken ? { adminToken } : {}),
  });

  let stopped = false;
  return {
    service,
    clock,
    logs,
    dataDir,
    adminToken,
    post: (payload) => postWebhook(service.url, payload),
    async drive(probe, stepMs, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = probe();
        if (value !== undefined && value !== false) return value;
        if (Date.now() > deadline)
          throw new Error(`timed out after ${timeoutMs} ms driving the clock`);
        clock.advance(stepMs);
        service.engine.tick();
        await sleep(5);
      }
    },
    open: (adapter) =>
      [...service.engine.open.values()]
        .filter((record) => record.adapter === adapter)
        .sort((a, b) => a.sequence - b.sequence),
    async stop() {
      if (stopped) return;
      stopped = true;
      await service.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Posts a webhook to a service with the demo restaurant's Basic credentials. */
export async function postWebhook(
  baseUrl: string,
  payload: BbotWebhook,
): Promise<{ status: number; body: WebhookBody }> {
  const response = await fetch(`${baseUrl}/webhooks/bbot`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Authorization: `Basic ${Buffer.from("demo:demo").toString("base64")}`,
    },
    body: JSON.stringify(payload),
  });
  return {
    status: response.status,
    body: (await response.json()) as WebhookBody,
  };
}

/** Copies the sample lifecycle (placed … closed) onto a new order with its own id. */
export function orderLifecycle(orderId = randomUUID()): BbotWebhook[] {
  return lifecycleSnapshots().map(
    (snapshot) =>
      JSON.parse(
        JSON.stringify(snapshot).replaceAll(SAMPLE_ORDER_ID, orderId),
      ) as BbotWebhook,
  );
}
