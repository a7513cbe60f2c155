import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";

import { adapterRegistry } from "../../adapters/index.ts";
import { checkConfig } from "../../src/config/load.ts";
import type { AdapterRegistry, Clock } from "../../src/delivery/contract.ts";
import { createLogger } from "../../src/logger.ts";
import { startService, type RunningService } from "../../src/service.ts";

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private current = Date.parse("2026-12-04T23:00:00Z")) {}

  now(): number {
    return this.current;
  }

  set(epochMs: number): void {
    this.current = epochMs;
  }

  advance(ms: number): void {
    this.current += ms;
  }
}

/** Captures a logger's JSON lines in memory. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: () => void,
  ): void {
    this.lines.push(
      ...chunk
        .toString("utf8")
        .split("\n")
        .filter((line) => line !== ""),
    );
    callback();
  }
}

/** A running service on a temporary data folder, with the pieces tests inspect. */
export interface TestService extends RunningService {
  logs: LogCapture;
  /** Posts a JSON body to the webhook with the demo credentials unless `auth` is given. */
  post(
    body: unknown,
    options?: {
      auth?: string | null;
      contentType?: string;
      raw?: string | Buffer;
    },
  ): Promise<Response>;
  /** The lines of `events.jsonl`, parsed. */
  jsonlEvents(): Promise<
    {
      type: string;
      id: string;
      change: unknown;
      order?: Record<string, unknown>;
    }[]
  >;
  cleanup(): Promise<void>;
}

/** Builds the default demo restaurant config with per-test changes. */
export function demoConfig(
  overrides: {
    restaurant?: Record<string, unknown>;
    top?: Record<string, unknown>;
  } = {},
) {
  return {
    restaurants: [
      {
        id: "demo",
        name: "Demo Bistro",
        bbotRestaurantId: "ecde3351-606c-4971-ab5a-792bccb0e5e2",
        timeZone: "America/New_York",
        auth: { username: "demo", password: "demo" },
        adapters: [
          {
            name: "events-file",
            type: "jsonl",
            events: ["*"],
            options: { path: "events.jsonl" },
          },
        ],
        ...overrides.restaurant,
      },
    ],
    delivery: { pollIntervalMs: 20 },
    ...overrides.top,
  };
}

export const DEMO_AUTH = `Basic ${Buffer.from("demo:demo").toString("base64")}`;

/** Starts the service in-process on 127.0.0.1 with a fresh data folder (or the given one). */
export async function startTestService(
  options: {
    config?: unknown;
    registry?: AdapterRegistry;
    clock?: Clock;
    dataDir?: string;
    adminToken?: string;
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<TestService> {
  const dataDir =
    options.dataDir ?? (await mkdtemp(join(tmpdir(), "bbot-test-")));
  const registry = options.registry ?? adapterRegistry;
  const config = checkConfig(
    "test-config.json",
    options.config ?? demoConfig(),
    registry,
    options.env ?? {},
  );
  const logs = new LogCapture();
  const logger = createLogger({ level: "debug", destination: logs });

  const service = await startService({
    config,
    registry,
    logger,
    host: "127.0.0.1",
    port: 0,
    dataDir,
    shutdownDeadlineMs: 2_000,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.adminToken ? { adminToken: options.adminToken } : {}),
  });

  return {
    ...service,
    logs,
    async post(body, postOptions = {}) {
      const headers: Record<string, string> = {
        "Content-Type": postOptions.contentType ?? "application/json",
      };
      const auth =
        postOptions.auth === undefined ? DEMO_AUTH : postOptions.auth;
      if (auth !== null) headers.Authorization = auth;
      return fetch(`${service.url}/webhooks/bbot`, {
        method: "POST",
        headers,
        body: postOptions.raw ?? JSON.stringify(body),
      });
    },
    async jsonlEvents() {
      const text = await readFile(join(dataDir, "events.jsonl"), "utf8").catch(
        () => "",
      );
      return text
        .split("\n")
        .filter((line) => line !== "")
        .map(
          (line) =>
            JSON.parse(line) as { type: string; id: string; change: unknown },
        );
    },
    async cleanup() {
      await service.stop();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls a condition until it holds, failing after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
