import { parseArgs } from "node:util";

import { adapterRegistry } from "../../adapters/index.ts";
import {
  ConfigError,
  DEFAULT_CONFIG_PATH,
  loadConfig,
} from "../config/load.ts";
import type { RestaurantConfig } from "../config/schema.ts";
import { exportComponent } from "../export-component.ts";
import { createLogger } from "../logger.ts";
import { startService } from "../service.ts";
import { UsageError } from "./usage.ts";

type Output = (text: string) => void;

export const SERVE_USAGE = `Usage: bbot-bridge serve [--config FILE] [--pretty] [--shutdown-timeout MS]

Starts the service. On SIGTERM or SIGINT it stops accepting connections, finishes running
requests, export runs and deliveries up to the shutdown timeout, flushes the store and exits
with code 0. A second signal exits at once with code 1.

  --config FILE            config file (default $BBOT_BRIDGE_CONFIG or config/default.json)
  --pretty                 human-readable logs instead of JSON lines
  --shutdown-timeout MS    milliseconds a shutdown waits for running work (default 10000)

Environment:
  PORT, HOST               listen address (default 3000 on 127.0.0.1; PORT=0 picks a free port)
  BBOT_BRIDGE_DATA_DIR     data folder, overriding the config's dataDir
  BBOT_BRIDGE_ADMIN_TOKEN  bearer token of the admin API; the API is off when unset
`;

export const CHECK_USAGE = `Usage: bbot-bridge check-config [FILE]

Validates a config file exactly as "serve" does, without starting anything: reads the file,
resolves \${VAR} references from the environment and checks every key. It lists every problem
with its key path, the value found and what is allowed, and exits with code 1 when there is
one. A valid config is summarized: restaurants, adapters and their events, exports.

  FILE   config file (default $BBOT_BRIDGE_CONFIG or config/default.json)
`;

/** Returns the config file named by a flag, `BBOT_BRIDGE_CONFIG` or the packaged default. */
export function configPath(flag: string | undefined): string {
  return flag ?? (process.env.BBOT_BRIDGE_CONFIG || DEFAULT_CONFIG_PATH);
}

/** Runs `bbot-bridge serve` until a signal stops it; returns the exit code. */
export async function serveCommand(
  argv: string[],
  out: Output,
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: "string" },
      pretty: { type: "boolean", default: false },
      "shutdown-timeout": { type: "string", default: "10000" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    out(SERVE_USAGE);
    return 0;
  }

  const shutdownDeadlineMs = Number(values["shutdown-timeout"]);
  if (!Number.isInteger(shutdownDeadlineMs) || shutdownDeadlineMs < 0) {
    throw new UsageError(
      `--shutdown-timeout must be a whole number of milliseconds, not ${JSON.stringify(values["shutdown-timeout"])}`,
      SERVE_USAGE,
    );
  }
  const port = Number(process.env.PORT ?? "3000");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(
      `PORT must be a port number from 0 to 65535, not ${JSON.stringify(process.env.PORT)}`,
      SERVE_USAGE,
    );
  }

  const { config } = loadConfig(configPath(values.config), adapterRegistry);
  const logger = createLogger({
    level: config.logging.level,
    pretty: values.pretty,
  });
  const service = await startService({
    config,
    registry: adapterRegistry,
    logger,
    host: process.env.HOST || "127.0.0.1",
    port,
    shutdownDeadlineMs,
    components: [exportComponent()],
    ...(process.env.BBOT_BRIDGE_ADMIN_TOKEN
      ? { adminToken: process.env.BBOT_BRIDGE_ADMIN_TOKEN }
      : {}),
    ...(process.env.BBOT_BRIDGE_DATA_DIR
      ? { dataDir: process.env.BBOT_BRIDGE_DATA_DIR }
      : {}),
  });

  return new Promise<number>((resolve) => {
    let received: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) {
        logger.warn(
          { signal, first: received },
          "second signal during shutdown; exiting now without waiting",
        );
        logger.flush();
        process.exit(1);
      }
      received = signal;
      logger.info({ signal }, "signal received; shutting down");
      service.stop().then(
        () => resolve(0),
        (error: Error) => {
          logger.error({ err: error }, "shutdown failed");
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

/** Runs `bbot-bridge check-config`; returns the exit code. */
export function checkConfigCommand(
  argv: string[],
  out: Output,
  err: Output,
): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { help: { type: "boolean", default: false } },
  });
  if (values.help) {
    out(CHECK_USAGE);
    return 0;
  }

  const file = configPath(positionals[0]);
  try {
    const { config } = loadConfig(file, adapterRegistry);
    const adapters = config.restaurants.reduce(
      (sum, restaurant) => sum + restaurant.adapters.length,
      0,
    );
    out(
      `config ${file} is valid: ${count(config.restaurants.length, "restaurant")}, ${count(adapters, "adapter")}`,
    );
    out(`data folder: ${process.env.BBOT_BRIDGE_DATA_DIR || config.dataDir}`);
    for (const restaurant of config.restaurants) {
      out(describeRestaurant(restaurant));
      for (const entry of restaurant.adapters) {
        const events =
          entry.events ?? adapterRegistry.get(entry.type)?.defaultEvents ?? [];
        const personal =
          entry.personalData.length > 0
            ? `; personal data: ${entry.personalData.join(", ")}`
            : "";
        out(
          `  adapter ${entry.name} (${entry.type})${entry.enabled ? "" : " disabled"}: ${events.join(", ")}${personal}`,
        );
      }
      const exportSettings = restaurant.export;
      if (exportSettings) {
        out(
          `  export ${exportSettings.enabled ? "daily" : "disabled"} at ${exportSettings.scheduleTime} ${restaurant.timeZone}: ${exportSettings.formats.join(", ")}, catch-up ${exportSettings.catchUpDays} days`,
        );
      }
    }
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      err(error.message);
      return 1;
    }
    throw error;
  }
}

function describeRestaurant(restaurant: RestaurantConfig): string {
  const matchedBy = [
    restaurant.bbotRestaurantId
      ? `order.restaurant_id ${restaurant.bbotRestaurantId}`
      : "",
    restaurant.customerId ? `restaurant_id ${restaurant.customerId}` : "",
  ]
    .filter(Boolean)
    .join(" or ");
  return `restaurant ${restaurant.id} (${restaurant.name}), ${restaurant.timeZone}, cutoff ${restaurant.businessDayCutoffHour}:00, ${restaurant.currency}, matched by ${matchedBy}`;
}

function count(amount: number, noun: string): string {
  return `${amount} ${noun}${amount === 1 ? "" : "s"}`;
}
