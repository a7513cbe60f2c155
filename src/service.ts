import type { Server } from "node:http";
import { isAbsolute, resolve } from "node:path";
import type { Logger } from "pino";

import type { BridgeConfig } from "./config/schema.ts";
import type {
  AdapterRegistry,
  AdapterState,
  Clock,
} from "./delivery/contract.ts";
import { DeliveryEngine } from "./delivery/engine.ts";
import { createApp } from "./http/app.ts";
import { Quarantine } from "./http/quarantine.ts";
import { WebhookProcessor } from "./http/webhook.ts";
import { Metrics } from "./metrics.ts";
import { OrderIngestor } from "./orders/ingest.ts";
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
  /** Milliseconds shutdown waits for running deliveries. Default 10,000. */
  shutdownDeadlineMs?: number;
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
    throw new Error(
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
      engine.addAdapter(restaurant, entry, adapter, factory.defaultEvents);
    }
  }
  await engine.start();

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
    readiness: {
      config: () => true,
      store: () => store.isWritable(),
      deliveryWorker: () => engine.slots.size >= 0,
    },
  });

  const gauges = setInterval(() => updateGauges(engine, metrics, clock), 1000);
  gauges.unref();
  const housekeeping = setInterval(
    () => {
      void runHousekeeping(engine, quarantine, config, logger);
    },
    60 * 60 * 1000,
  );
  housekeeping.unref();
  void runHousekeeping(engine, quarantine, config, logger);

  const server = app.listen(options.port, options.host);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
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

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      logger.info("stopping: no new requests; finishing running ones");
      clearInterval(gauges);
      clearInterval(housekeeping);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await engine.stop(options.shutdownDeadlineMs ?? 10_000);
      await store.close();
      logger.info("stopped");
    })();
    return stopping;
  };

  return { url, server, store, engine, metrics, dataDir, stop };
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
  engine: DeliveryEngine,
  quarantine: Quarantine,
  config: BridgeConfig,
  logger: Logger,
): Promise<void> {
  try {
    const deliveries = await engine.operations.prune(
      config.delivery.retentionDays,
    );
    const quarantined = await quarantine.prune(
      config.server.quarantineRetentionDays,
    );
    if (deliveries + quarantined > 0) {
      logger.info(
        { deliveryDays: deliveries, quarantineDays: quarantined },
        "pruned records past their retention",
      );
    }
  } catch (error) {
    logger.error({ err: error }, "pruning failed; it runs again in an hour");
  }
}
