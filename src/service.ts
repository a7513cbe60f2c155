import type { Server } from "node:http";
import { isAbsolute, resolve } from "node:path";
import type Router from "@koa/router";
import type { Logger } from "pino";

import type { BridgeConfig } from "./config/schema.ts";
import type {
  AdapterRegistry,
  AdapterState,
  Clock,
} from "./delivery/contract.ts";
import { DeliveryEngine } from "./delivery/engine.ts";
import { createApp, type ReadinessCheck } from "./http/app.ts";
import { Quarantine } from "./http/quarantine.ts";
import { WebhookProcessor } from "./http/webhook.ts";
import { Metrics } from "./metrics.ts";
import { OrderIngestor } from "./orders/ingest.ts";
import { pruneHistory } from "./orders/retention.ts";
import { bucketOf } from "./store/keys.ts";
import { FileStore, type Store } from "./store/store.ts";

/** Everything `startService` needs; tests pass their own clock, logger and port. */
export interface ServiceOptions {
  config: BridgeConfig;
  registry: AdapterRegistry;
  logger: Logger;
  host: string;
  /** 0 picks a free port. */
  port: number;
  clock?: Clock;
  /** The admin API's bearer token; the admin API is off without one. */
  adminToken?: string;
  /** Overrides `config.dataDir` (`BBOT_BRIDGE_DATA_DIR`). */
  dataDir?: string;
  /**
   * Milliseconds shutdown waits in all for running requests, components and deliveries before
   * it cuts them off. Default 10,000.
   */
  shutdownDeadlineMs?: number;
  /** Parts that live as long as the service, such as the export scheduler. */
  components?: ServiceComponent[];
  /** Extra `/readyz` checks by name, next to config, store and delivery worker. */
  readinessChecks?: Record<string, ReadinessCheck>;
}

/** Services a component receives when the service starts it. */
export interface ComponentContext {
  config: BridgeConfig;
  store: FileStore;
  engine: DeliveryEngine;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  dataDir: string;
}

/**
 * A part that starts after the store and the delivery engine and stops before them, such as
 * a cron job. `ready` joins `/readyz` under the component's name; `stop` must end its timers
 * and wait for running work, because the store closes right after it.
 */
export interface ServiceComponent {
  readonly name: string;
  start?(context: ComponentContext): Promise<void> | void;
  stop?(): Promise<void> | void;
  ready?(): Promise<boolean> | boolean;
  /** Mounts admin routes behind the admin token; ignored when the admin API is off. */
  adminRoutes?(router: Router): void;
}

/** A running service. */
export interface RunningService {
  url: string;
  server: Server;
  store: FileStore;
  engine: DeliveryEngine;
  metrics: Metrics;
  dataDir: string;
  /** Stops accepting, finishes requests and deliveries up to the deadline and flushes the store. */
  stop(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|\[::1\])$/;

/** A reason the service cannot start that the operator can fix, such as a port in use. */
export class StartupError extends Error {
  override readonly name = "StartupError";
}

/** Tells whether a listen address is reachable from this machine only. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/** Refuses a public listen address while a restaurant still has the demo credentials. */
export function checkExposure(config: BridgeConfig, host: string): void {
  if (isLoopback(host)) return;
  const exposed = config.restaurants.filter(
    (restaurant) =>
      restaurant.auth.username === "demo" &&
      restaurant.auth.password === "demo",
  );
  if (exposed.length > 0) {
    throw new StartupError(
      `refusing to listen on ${host} while restaurant ${exposed.map((restaurant) => restaurant.id).join(", ")} uses the default credentials demo/demo; set BBOT_DEMO_USER and BBOT_DEMO_PASSWORD (or the restaurant's auth) first, or listen on 127.0.0.1`,
    );
  }
}

/** Opens the store, starts the adapters and the delivery worker, and listens for webhooks. */
export async function startService(
  options: ServiceOptions,
): Promise<RunningService> {
  const { config, logger } = options;
  const clock = options.clock ?? { now: () => Date.now() };
  checkExposure(config, options.host);

  const rawDataDir = options.dataDir ?? config.dataDir;
  const dataDir = isAbsolute(rawDataDir)
    ? rawDataDir
    : resolve(process.cwd(), rawDataDir);
  const metrics = new Metrics();
  const store = new FileStore({
    dataDir,
    ...config.store,
    clock,
    onCommit: (durationMs) => metrics.storeCommit.observe(durationMs / 1000),
    onCompaction: (stats) =>
      metrics.compaction.observe(stats.durationMs / 1000),
    onError: (error) =>
      logger.error(
        { err: error },
        "store compaction failed; the journal keeps the data",
      ),
  });
  await store.open();

  const engine = new DeliveryEngine({
    store: store,
    clock,
    logger,
    pollIntervalMs: config.delivery.pollIntervalMs,
    onAttempt: (slot, outcome, durationMs) => {
      metrics.attempts.inc({
        restaurant: slot.restaurant.id,
        adapter: slot.entry.name,
        outcome,
      });
      metrics.attemptDuration.observe(
        { adapter: slot.entry.name },
        durationMs / 1000,
      );
    },
  });
  for (const restaurant of config.restaurants) {
    for (const entry of restaurant.adapters) {
      const factory = options.registry.get(entry.type);
      if (!factory) throw new Error(`unknown adapter type ${entry.type}`);
      const adapterLogger = logger.child({
        restaurantId: restaurant.id,
        adapter: entry.name,
      });
      const adapter = factory.create(entry.options, {
        restaurant,
        entry,
        logger: adapterLogger,
        clock,
        dataDir,
        state: adapterState(store, `${restaurant.id}/${entry.name}`),
      });
      engine.addAdapter(
        restaurant,
        entry,
        adapter,
        factory.defaultEvents,
        factory.defaultConcurrency,
      );
    }
  }
  await engine.start();
  let workerRunning = true;

  const components = options.components ?? [];
  const context: ComponentContext = {
    config,
    store,
    engine,
    metrics,
    logger,
    clock,
    dataDir,
  };
  for (const component of components) {
    await component.start?.(context);
    logger.debug({ component: component.name }, "component started");
  }

  let stopping: Promise<void> | undefined;
  const ingestor = new OrderIngestor(store, engine, clock);
  const processor = new WebhookProcessor(config.restaurants, ingestor, metrics);
  const quarantine = new Quarantine(
    store,
    clock,
    config.server.quarantineBodyLimitBytes,
  );
  const app = createApp({
    logger,
    metrics,
    webhook: {
      restaurants: config.restaurants,
      processor,
      quarantine,
      metrics,
      logger,
      bodyLimitBytes: config.server.bodyLimitBytes,
    },
    ...(options.adminToken
      ? {
          admin: {
            token: options.adminToken,
            deliveries: engine.operations,
            quarantine,
            processor,
            restaurants: config.restaurants,
            retentionDays: config.delivery.retentionDays,
          },
        }
      : {}),
    ...(components.some((component) => component.adminRoutes)
      ? {
          extraAdminRoutes: (router: Router) => {
            for (const component of components) component.adminRoutes?.(router);
          },
        }
      : {}),
    readiness: readinessChecks(
      () => store.isWritable(),
      () => workerRunning,
      components,
      options.readinessChecks,
    ),
    isStopping: () => stopping !== undefined,
  });
  metrics.beforeScrape(() => updateGauges(engine, metrics, clock));
  const housekeeping = setInterval(
    () => {
      void runHousekeeping(store, engine, quarantine, config, logger, clock);
    },
    60 * 60 * 1000,
  );
  housekeeping.unref();
  void runHousekeeping(store, engine, quarantine, config, logger, clock);

  const server = app.listen(options.port, options.host);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    });
  } catch (error) {
    clearInterval(housekeeping);
    await stopComponents(components, logger, () => 2_000);
    await engine.stop(0);
    await store.close();
    const code = (error as NodeJS.ErrnoException).code ?? "";
    const hint =
      code === "EADDRINUSE"
        ? "the port is in use; stop the other process or set another PORT"
        : code === "EACCES"
          ? "this user may not listen there; use a port above 1023"
          : (error as Error).message;
    throw new StartupError(
      `cannot listen on ${options.host}:${options.port}: ${hint}`,
      {
        cause: error,
      },
    );
  }
  const address = server.address();
  const port =
    typeof address === "object" && address ? address.port : options.port;
  const url = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`;
  logger.info(
    {
      url,
      dataDir,
      restaurants: config.restaurants.length,
      adapters: engine.slots.size,
    },
    "bbot-bridge listening",
  );

  const stop = () => {
    stopping ??= (async () => {
      const deadline =
        performance.now() + (options.shutdownDeadlineMs ?? 10_000);
      const remaining = () => Math.max(0, deadline - performance.now());
      logger.info(
        { deadlineMs: options.shutdownDeadlineMs ?? 10_000 },
        "stopping: no new connections; finishing running requests and deliveries",
      );
      clearInterval(housekeeping);

      const drained = closeServer(server, remaining());
      await stopComponents(components, logger, remaining);
      if (!(await drained)) {
        logger.warn(
          "requests still running at the shutdown deadline; their connections were closed",
        );
      }
      workerRunning = false;
      await engine.stop(remaining());
      await store.close();
      logger.info("stopped; the store is flushed");
    })();
    return stopping;
  };

  return { url, server, store, engine, metrics, dataDir, stop };
}

/** Collects the `/readyz` checks: the built-in ones, then each component's, then the caller's. */
function readinessChecks(
  storeWritable: ReadinessCheck,
  workerRunning: () => boolean,
  components: readonly ServiceComponent[],
  extra: Record<string, ReadinessCheck> = {},
): Record<string, ReadinessCheck> {
  const checks: Record<string, ReadinessCheck> = {
    // The service only starts from a config that passed every check.
    config: () => true,
    store: storeWritable,
    deliveryWorker: workerRunning,
  };
  for (const component of components) {
    if (component.ready) checks[component.name] = () => component.ready!();
  }
  return { ...checks, ...extra };
}

/**
 * Stops listening, lets running requests finish and closes idle keep-alive connections.
 * Resolves true when every connection closed in time, false when the deadline cut some off.
 */
async function closeServer(
  server: Server,
  deadlineMs: number,
): Promise<boolean> {
  const closed = new Promise<boolean>((resolve) =>
    server.close(() => resolve(true)),
  );
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), deadlineMs);
  });
  const inTime = await Promise.race([closed, late]);
  clearTimeout(timer);
  if (!inTime) {
    server.closeAllConnections();
    await closed;
  }
  return inTime;
}

/** Stops components in reverse start order; a failure is logged and the others still stop. */
async function stopComponents(
  components: readonly ServiceComponent[],
  logger: Logger,
  remaining: () => number,
): Promise<void> {
  for (const component of [...components].reverse()) {
    if (!component.stop) continue;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), remaining());
    });
    try {
      const result = await Promise.race([component.stop(), late]);
      if (result === "late") {
        logger.warn(
          { component: component.name },
          "component did not stop before the shutdown deadline",
        );
      }
    } catch (error) {
      logger.error(
        { err: error, component: component.name },
        "component failed to stop",
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Adapter state rows, keyed by adapter and order, in the store's `adapterState` table. */
function adapterState(store: Store, prefix: string): AdapterState {
  return {
    get: <T>(orderId: string) =>
      store.get<T>("adapterState", bucketOf(orderId), `${prefix}:${orderId}`),
    set: async <T>(orderId: string, value: T) => {
      await store.commit([
        {
          table: "adapterState",
          partition: bucketOf(orderId),
          key: `${prefix}:${orderId}`,
          value,
        },
      ]);
    },
  };
}

function updateGauges(
  engine: DeliveryEngine,
  metrics: Metrics,
  clock: Clock,
): void {
  let pending = 0;
  let dead = 0;
  let oldest = Number.POSITIVE_INFINITY;
  for (const record of engine.open.values()) {
    if (record.status === "dead") dead += 1;
    else {
      pending += 1;
      oldest = Math.min(oldest, record.createdAt);
    }
  }
  metrics.deliveries.set({ status: "pending" }, pending);
  metrics.deliveries.set({ status: "dead" }, dead);
  metrics.oldestPendingAge.set(
    pending === 0 ? 0 : Math.max(0, (clock.now() - oldest) / 1000),
  );
}

async function runHousekeeping(
  store: FileStore,
  engine: DeliveryEngine,
  quarantine: Quarantine,
  config: BridgeConfig,
  logger: Logger,
  clock: Clock,
): Promise<void> {
  try {
    const deliveries = await engine.operations.prune(
      config.delivery.retentionDays,
    );
    const quarantined = await quarantine.prune(
      config.server.quarantineRetentionDays,
    );
    // Written out first, so no change to an old day waits in memory or the journal.
    await store.compact();
    const needed = new Set(
      [...engine.open.values()].map((record) => record.eventPartition),
    );
    const history = await pruneHistory(
      store,
      needed,
      config.store.retentionDays,
      clock.now(),
    );
    if (deliveries + quarantined + history > 0) {
      logger.info(
        {
          deliveryDays: deliveries,
          quarantineDays: quarantined,
          historyFiles: history,
        },
        "pruned records past their retention",
      );
    }
  } catch (error) {
    logger.error({ err: error }, "pruning failed; it runs again in an hour");
  }
}
