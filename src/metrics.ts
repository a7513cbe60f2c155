import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
} from "prom-client";

/** Outcomes of an export run, as `bbot_bridge_export_runs_total` labels them. */
const EXPORT_OUTCOMES = [
  "written",
  "unchanged",
  "empty",
  "already-exported",
  "failed",
];

/** The service's Prometheus metrics, in a registry of its own so tests can run several services. */
export class Metrics {
  readonly registry = new Registry();

  readonly webhooks = new Counter({
    name: "bbot_bridge_webhooks_total",
    help: "Webhooks received, by outcome (created, updated, duplicate, stale, unauthorized, or the rejection reason).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  readonly events = new Counter({
    name: "bbot_bridge_events_total",
    help: "Events produced, by type.",
    labelNames: ["type"] as const,
    registers: [this.registry],
  });

  readonly attempts = new Counter({
    name: "bbot_bridge_delivery_attempts_total",
    help: "Delivery attempts, by restaurant, adapter and outcome (delivered, transient, permanent).",
    labelNames: ["restaurant", "adapter", "outcome"] as const,
    registers: [this.registry],
  });

  readonly attemptDuration = new Histogram({
    name: "bbot_bridge_delivery_attempt_seconds",
    help: "Duration of delivery attempts, in seconds.",
    labelNames: ["adapter"] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly deliveries = new Gauge({
    name: "bbot_bridge_deliveries",
    help: "Open deliveries in the outbox, by status (pending, dead).",
    labelNames: ["status"] as const,
    registers: [this.registry],
  });

  readonly oldestPendingAge = new Gauge({
    name: "bbot_bridge_oldest_pending_delivery_age_seconds",
    help: "Age of the oldest pending delivery, in seconds; 0 when none is pending.",
    registers: [this.registry],
  });

  readonly exportRuns = new Counter({
    name: "bbot_bridge_export_runs_total",
    help: "Accounting export runs, by outcome (written, unchanged, empty, already-exported, failed). Dry runs are not counted.",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  readonly storeCommit = new Histogram({
    name: "bbot_bridge_store_commit_seconds",
    help: "Time from a commit's start until its journal write is flushed to disk, in seconds.",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  readonly compaction = new Histogram({
    name: "bbot_bridge_store_compaction_seconds",
    help: "Duration of store compactions, in seconds.",
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });

  private readonly scrapeHooks: (() => void)[] = [];

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "bbot_bridge_" });
    // Zero series from the start, so a dashboard shows 0 runs instead of no data.
    for (const outcome of EXPORT_OUTCOMES) this.exportRuns.inc({ outcome }, 0);
    for (const status of ["pending", "dead"])
      this.deliveries.set({ status }, 0);
  }

  /** Registers a function that refreshes gauges right before each scrape. */
  beforeScrape(hook: () => void): void {
    this.scrapeHooks.push(hook);
  }

  /** Renders every metric in the Prometheus text format, after refreshing the gauges. */
  async render(): Promise<string> {
    for (const hook of this.scrapeHooks) hook();
    return this.registry.metrics();
  }
}
