import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";

import { randomBytes } from "node:crypto";

import { adapterRegistry } from "../../adapters/index.ts";
import { businessDateOf } from "../bbot/business-date.ts";
import { checkConfig } from "../config/load.ts";
import type { AdapterRegistry } from "../delivery/contract.ts";
import type { DeliveryRecord } from "../delivery/records.ts";
import { exportComponent } from "../export-component.ts";
import { silentLogger } from "../logger.ts";
import { startService, type RunningService } from "../service.ts";
import {
  DEMO_RETRY,
  startDemoDestinations,
  type DemoDestination,
} from "./destinations.ts";
import { dinnerScript, type DinnerWebhook } from "./dinner.ts";
import type { FakeDestination } from "./fake-destination.ts";

/** Options of `runDemo`. */
export interface DemoOptions {
  /** Orders in the dinner service. Default 24. */
  orders?: number;
  /** Orders that get a partial refund. Default 2. */
  refunds?: number;
  /** Data folder to use and keep; by default a temporary folder that is removed afterwards. */
  dataDir?: string;
  logger?: Logger;
  /** Receives one line per step of the demo. */
  progress?: (text: string) => void;
  registry?: AdapterRegistry;
  /** Time the demo waits for every delivery to land, in milliseconds. Default 60,000. */
  settleTimeoutMs?: number;
}

/** Summary of what one destination received. */
export interface DestinationReport {
  name: string;
  type: string;
  /** Requests or lines that landed. */
  accepted: number;
  /** Requests turned away during the outage (HTTP 503, or a failed file append). */
  rejected: number;
  /** True for the destination that was down during the rush. */
  flaky: boolean;
  /** Landed items by event type, where the destination's content names it (files). */
  eventTypes: Record<string, number>;
  /** Landed requests by URL path (HTTP fakes). */
  paths: Record<string, number>;
  /** Distinct `Idempotency-Key` values among landed requests (HTTP fakes). */
  distinctKeys: number;
}

/** The outcome of a demo run. */
export interface DemoReport {
  dataDir: string;
  /** True when the data folder was given and is left in place. */
  keptDataDir: boolean;
  orders: number;
  refundedOrders: number;
  /** Webhook responses by outcome (created, updated, duplicate, …). */
  webhooks: Record<string, number>;
  /** Events the service produced, by type. */
  events: Record<string, number>;
  /** Deliveries by final status. */
  deliveries: Record<string, number>;
  destinations: DestinationReport[];
  /** The accounting export of each business date the dinner fell on. */
  exports: { businessDate: string; status: string; files: string[] }[];
  /** Destination types the demo left out, with the reason. */
  skipped: string[];
  /** True when every delivery landed before the settle timeout. */
  settled: boolean;
}

/** The file the always-present jsonl destination writes, under the data folder. */
const EVENTS_FILE = "events.jsonl";
/** The jsonl destination that fails for a while when no HTTP destination is registered. */
const FLAKY_FILE = join("flaky", "events.jsonl");

/**
 * Runs the demo: starts fake third-party APIs and the service on 127.0.0.1, plays a dinner
 * service through the webhook with one destination down during the rush, waits for every
 * delivery to land and reports what each destination received.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const registry = options.registry ?? adapterRegistry;
  const progress = options.progress ?? (() => {});
  const kept = options.dataDir !== undefined;
  const dataDir =
    options.dataDir ?? (await mkdtemp(join(tmpdir(), "bbot-bridge-demo-")));
  await mkdir(dataDir, { recursive: true });

  const started = await startDemoDestinations(registry);
  let service: RunningService | undefined;
  try {
    const flaky = started.destinations[0];
    const config = checkConfig(
      "the demo config",
      demoConfig(started.destinations, flaky === undefined),
      registry,
      {},
    );
    const adminToken = randomBytes(18).toString("base64url");
    service = await startService({
      config,
      registry,
      logger: options.logger ?? silentLogger(),
      host: "127.0.0.1",
      port: 0,
      dataDir,
      adminToken,
      components: [exportComponent()],
    });
    const outage = flaky
      ? httpOutage(flaky.fake!)
      : fileOutage(join(dataDir, FLAKY_FILE), service);
    progress(`service listening on ${service.url}, data folder ${dataDir}`);
    for (const destination of started.destinations) {
      progress(
        `fake ${destination.type} listening on ${destination.fake!.url}`,
      );
    }
    for (const reason of started.skipped) progress(`left out ${reason}`);

    // The dinner was yesterday, so its business date is finished and can be exported.
    const startAt = Date.now() - DINNER_AGE_MS;
    const script = dinnerScript({
      startAt,
      ...(options.orders === undefined ? {} : { orders: options.orders }),
      ...(options.refunds === undefined ? {} : { refunds: options.refunds }),
    });
    const tally = { webhooks: {}, events: {} } as Pick<
      DemoReport,
      "webhooks" | "events"
    >;

    const flakyName = flaky?.name ?? "flaky-file";
    progress(
      `rush: ${script.orderIds.length} orders placed, accepted, made ready and delivered; ${flakyName} is down`,
    );
    await outage.begin();
    await postAll(service.url, script.rush, tally);
    await waitUntil(
      () => outage.failures() > 0,
      options.settleTimeoutMs ?? 60_000,
    );

    progress(
      `${flakyName} is back after ${outage.failures()} failed attempts; closing: ${script.refundedOrderIds.length} refunds, every order closed`,
    );
    await outage.end();
    await postAll(service.url, script.closing, tally);

    const timeoutMs = options.settleTimeoutMs ?? 60_000;
    await waitUntil(() => isSettled(service!), timeoutMs);
    const exports = await exportDinner(
      service,
      adminToken,
      dinnerDates(startAt, script.orderIds.length, config.restaurants[0]!),
    );
    for (const entry of exports) {
      progress(
        `accounting export of ${entry.businessDate}: ${entry.status}, ${entry.files.length} files`,
      );
    }
    const settled = await waitUntil(() => isSettled(service!), timeoutMs);
    progress(
      settled
        ? "every delivery landed"
        : "deliveries still open at the timeout",
    );
    const deliveries = countDeliveries(service);
    await service.stop();
    service = undefined;

    const destinations = await destinationReports(
      dataDir,
      started.destinations,
      flaky === undefined ? outage.failures() : 0,
    );
    return {
      dataDir,
      keptDataDir: kept,
      orders: script.orderIds.length,
      refundedOrders: script.refundedOrderIds.length,
      ...tally,
      deliveries,
      exports,
      destinations,
      skipped: started.skipped,
      settled,
    };
  } finally {
    await service?.stop();
    await Promise.all(started.fakes.map((fake) => fake.close()));
    if (!kept) await rm(dataDir, { recursive: true, force: true });
  }
}

/** How long ago the dinner started: over a day, so every order's business date is finished. */
const DINNER_AGE_MS = 30 * 60 * 60 * 1000;

/** Lists the business dates of the dinner's orders, from the first placed to the last closed. */
function dinnerDates(
  startAt: number,
  orders: number,
  restaurant: { timeZone: string; businessDayCutoffHour: number },
): string[] {
  const dates = new Set<string>();
  // Orders are placed 3 minutes apart and close within about 70 minutes.
  const endAt = startAt + orders * 3 * 60_000 + 2 * 60 * 60_000;
  for (let at = startAt; at <= endAt; at += 30 * 60_000) {
    dates.add(
      businessDateOf(at, restaurant.timeZone, restaurant.businessDayCutoffHour),
    );
  }
  return [...dates].sort();
}

/** Runs the accounting export of each date through the admin API, as `bbot-bridge export` does. */
async function exportDinner(
  service: RunningService,
  adminToken: string,
  dates: string[],
): Promise<DemoReport["exports"]> {
  const results: DemoReport["exports"] = [];
  for (const businessDate of dates) {
    const response = await fetch(
      `${service.url}/admin/exports/demo/${businessDate}`,
      {
        method: "POST",
        headers: {
          Authorization: `Bearer ${adminToken}`,
          "Content-Type": "application/json",
        },
        body: "{}",
      },
    );
    const body = (await response.json()) as {
      status?: string;
      error?: string;
      files?: { name: string }[];
    };
    if (!response.ok) {
      throw new Error(
        `the demo's export of ${businessDate} failed with HTTP ${response.status}: ${body.error ?? "no message"}`,
      );
    }
    results.push({
      businessDate,
      status: body.status ?? "unknown",
      files: (body.files ?? []).map((file) => file.name),
    });
  }
  return results;
}

/** Ledger accounts of the demo restaurant's export, as a small bistro's chart might name them. */
const DEMO_ACCOUNTS = {
  cardClearing: { name: "Card Clearing", code: "1150" },
  sales: { name: "Food Sales", code: "4000" },
  discounts: { name: "Discounts", code: "4900" },
  fees: { name: "Service Fees", code: "4100" },
  salesTaxPayable: { name: "Sales Tax Payable", code: "2200" },
  tipsPayable: { name: "Tips Payable", code: "2300" },
  refunds: { name: "Refunds", code: "4950" },
};

/** Builds the demo config: one restaurant with the events file and every started destination. */
function demoConfig(
  destinations: DemoDestination[],
  withFlakyFile: boolean,
): unknown {
  const adapters: Record<string, unknown>[] = [
    { name: "events-file", type: "jsonl", options: { path: EVENTS_FILE } },
  ];
  if (withFlakyFile) {
    adapters.push({
      name: "flaky-file",
      type: "jsonl",
      ...DEMO_RETRY,
      options: { path: FLAKY_FILE },
    });
  }
  adapters.push(...destinations.map((destination) => destination.entry));

  return {
    delivery: { pollIntervalMs: 50 },
    logging: { level: "info" },
    restaurants: [
      {
        id: "demo",
        name: "Demo Bistro",
        bbotRestaurantId: "ecde3351-606c-4971-ab5a-792bccb0e5e2",
        timeZone: "America/New_York",
        auth: { username: "demo", password: "demo" },
        adapters,
        export: {
          formats: ["json", "qbo-csv"],
          accounts: DEMO_ACCOUNTS,
        },
      },
    ],
  };
}

/** Switches a destination off and on, and counts the attempts it turned away. */
interface Outage {
  begin(): Promise<void>;
  end(): Promise<void>;
  failures(): number;
}

function httpOutage(fake: FakeDestination): Outage {
  return {
    begin: async () => fake.setOutage(true),
    end: async () => fake.setOutage(false),
    failures: () => fake.rejected().length,
  };
}

/**
 * Makes the flaky jsonl destination fail by putting a folder where its file goes: each append
 * fails until the folder is removed. Failures are counted from the open delivery records, and
 * the count is kept when the outage ends, because records leave the outbox once delivered.
 */
function fileOutage(file: string, service: RunningService): Outage {
  let counted: number | undefined;
  const count = () =>
    failedAttempts(service.engine.open.values(), "flaky-file");
  return {
    begin: async () => {
      await mkdir(file, { recursive: true });
    },
    end: async () => {
      counted = count();
      await rm(file, { recursive: true, force: true });
    },
    failures: () => counted ?? count(),
  };
}

const DEMO_AUTH = `Basic ${Buffer.from("demo:demo").toString("base64")}`;

/** Posts webhooks one after another, as Bbot does for one restaurant, and tallies the responses. */
async function postAll(
  url: string,
  webhooks: DinnerWebhook[],
  tally: Pick<DemoReport, "webhooks" | "events">,
): Promise<void> {
  for (const webhook of webhooks) {
    const response = await fetch(`${url}/webhooks/bbot`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: DEMO_AUTH },
      body: webhook.body,
    });
    const body = (await response.json()) as {
      outcome?: string;
      error?: string;
      events?: { type: string }[];
    };
    if (!response.ok) {
      throw new Error(
        `the service rejected the demo's ${webhook.step} webhook of order ${webhook.orderId} with HTTP ${response.status}: ${body.error ?? "no message"}`,
      );
    }
    increment(tally.webhooks, body.outcome ?? "unknown");
    for (const event of body.events ?? []) increment(tally.events, event.type);
  }
}

function isSettled(service: RunningService): boolean {
  if (service.engine.runningCount > 0) return false;
  for (const record of service.engine.open.values()) {
    if (record.status === "pending") return false;
  }
  return true;
}

function countDeliveries(service: RunningService): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const record of service.engine.open.values())
    increment(counts, record.status);
  return counts;
}

/** Polls a condition every 50 ms; resolves false when `timeoutMs` passes first. */
async function waitUntil(
  condition: () => boolean,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

async function destinationReports(
  dataDir: string,
  destinations: DemoDestination[],
  flakyFileFailures: number,
): Promise<DestinationReport[]> {
  const reports: DestinationReport[] = [
    await fileReport(dataDir, "events-file", EVENTS_FILE, 0),
  ];
  if (destinations.length === 0) {
    reports.push(
      await fileReport(dataDir, "flaky-file", FLAKY_FILE, flakyFileFailures),
    );
  }
  destinations.forEach((destination, index) =>
    reports.push(httpReport(destination, index === 0)),
  );
  return reports;
}

async function fileReport(
  dataDir: string,
  name: string,
  file: string,
  failures: number,
): Promise<DestinationReport> {
  const text = await readFile(join(dataDir, file), "utf8").catch(() => "");
  const lines = text.split("\n").filter((line) => line !== "");
  const eventTypes: Record<string, number> = {};
  for (const line of lines)
    increment(eventTypes, (JSON.parse(line) as { type: string }).type);
  return {
    name,
    type: "jsonl",
    accepted: lines.length,
    rejected: failures,
    flaky: failures > 0,
    eventTypes,
    paths: {},
    distinctKeys: 0,
  };
}

function httpReport(
  destination: DemoDestination,
  flaky: boolean,
): DestinationReport {
  const fake = destination.fake!;
  const paths: Record<string, number> = {};
  const keys = new Set<string>();
  for (const request of fake.accepted()) {
    increment(paths, `${request.method} ${request.path}`);
    if (request.idempotencyKey) keys.add(request.idempotencyKey);
  }
  return {
    name: destination.name,
    type: destination.type,
    accepted: fake.accepted().length,
    rejected: fake.rejected().length,
    flaky,
    eventTypes: {},
    paths,
    distinctKeys: keys.size,
  };
}

function increment(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function failedAttempts(
  records: Iterable<DeliveryRecord>,
  adapter: string,
): number {
  let failures = 0;
  for (const record of records) {
    if (record.adapter !== adapter) continue;
    failures += record.history.filter(
      (attempt) => attempt.outcome !== "delivered",
    ).length;
  }
  return failures;
}

/** Renders a demo report as the text the CLI prints. */
export function formatDemoReport(report: DemoReport): string {
  const lines = [
    "",
    `dinner service: ${report.orders} orders, ${report.refundedOrders} partly refunded`,
    `webhooks: ${formatCounts(report.webhooks)}`,
    `events:   ${formatCounts(report.events)}`,
    `deliveries still open: ${formatCounts(report.deliveries) || "none"}`,
    ...report.exports.map(
      (entry) =>
        `accounting export ${entry.businessDate}: ${entry.status} (${entry.files.join(", ") || "no files"})`,
    ),
    "",
    "what each destination received:",
  ];
  for (const destination of report.destinations) {
    const outage = destination.flaky
      ? `, ${destination.rejected} attempts failed during the outage`
      : "";
    lines.push(
      `  ${destination.name} (${destination.type}): ${destination.accepted} landed${outage}`,
    );
    const detail =
      destination.type === "jsonl" ? destination.eventTypes : destination.paths;
    for (const [key, count] of Object.entries(detail).sort())
      lines.push(`    ${String(count).padStart(4)}  ${key}`);
  }
  for (const reason of report.skipped) lines.push(`  left out ${reason}`);
  lines.push(
    "",
    report.keptDataDir
      ? `data kept in ${report.dataDir}`
      : "the temporary data folder was removed; pass --data-dir to keep it",
  );
  return lines.join("\n");
}

function formatCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort()
    .map(([key, count]) => `${count} ${key}`)
    .join(", ");
}
