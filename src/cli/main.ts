import { parseArgs } from "node:util";

import { adapterRegistry } from "../../adapters/index.ts";
import {
  ConfigError,
  DEFAULT_CONFIG_PATH,
  loadConfig,
} from "../config/load.ts";
import { createLogger } from "../logger.ts";
import { startService } from "../service.ts";
import { StoreCorruptError, StoreLockedError } from "../store/errors.ts";
import { AdminRequestError } from "./admin-client.ts";
import { runDeliveriesCommand } from "./deliveries.ts";
import { runQuarantineCommand } from "./quarantine.ts";
import { runSendSample } from "./send-sample.ts";
import { UsageError } from "./usage.ts";

const USAGE = `Usage: bbot-bridge <command> [options]

Commands:
  serve          start the service (default config: config/default.json)
  check-config   validate a config file and summarize it, without starting anything
  send-sample    post the sample order's lifecycle to a running service
  deliveries     list, inspect, retry and discard deliveries
  quarantine     list, inspect and replay rejected webhook bodies

Run "bbot-bridge <command> --help" for a command's options.

Environment:
  BBOT_BRIDGE_CONFIG       config file (default config/default.json)
  BBOT_BRIDGE_DATA_DIR     data folder, overriding the config's dataDir
  PORT, HOST               listen address (default 3000 on 127.0.0.1)
  BBOT_BRIDGE_ADMIN_TOKEN  bearer token of the admin API; the API is off when unset
`;

const SERVE_USAGE = `Usage: bbot-bridge serve [--config FILE] [--pretty]

Starts the service. Stops cleanly on SIGTERM or SIGINT.

  --config FILE   config file (default $BBOT_BRIDGE_CONFIG or config/default.json)
  --pretty        human-readable logs instead of JSON lines
`;

const CHECK_USAGE = `Usage: bbot-bridge check-config [FILE]

Validates a config file exactly as "serve" does, reports every problem with its key path,
and prints the restaurants and adapters it defines. Exit code 1 when the config is invalid.
`;

type Output = (text: string) => void;

/** Runs the CLI with the given arguments; returns the exit code. */
export async function main(
  argv: string[],
  out: Output,
  err: Output,
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "serve":
        return await serve(rest, out);
      case "check-config":
        return checkConfigCommand(rest, out, err);
      case "send-sample":
        return await runSendSample(rest, out);
      case "deliveries":
        return await runDeliveriesCommand(rest, out);
      case "quarantine":
        return await runQuarantineCommand(rest, out);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        err(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof UsageError) {
      err(`${error.message}\n\n${error.usage}`);
      return 2;
    }
    if (
      error instanceof TypeError &&
      (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      err(`${error.message}; run with --help for the options`);
      return 2;
    }
    if (
      error instanceof ConfigError ||
      error instanceof AdminRequestError ||
      error instanceof StoreCorruptError ||
      error instanceof StoreLockedError
    ) {
      err(error.message);
      return 1;
    }
    throw error;
  }
}

function configPath(flag: string | undefined): string {
  return flag ?? (process.env.BBOT_BRIDGE_CONFIG || DEFAULT_CONFIG_PATH);
}

async function serve(argv: string[], out: Output): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: "string" },
      pretty: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    out(SERVE_USAGE);
    return 0;
  }

  const { config } = loadConfig(configPath(values.config), adapterRegistry);
  const logger = createLogger({
    level: config.logging.level,
    pretty: values.pretty,
  });
  const port = Number(process.env.PORT ?? "3000");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(
      `PORT must be a port number from 0 to 65535, not ${JSON.stringify(process.env.PORT)}`,
      SERVE_USAGE,
    );
  }

  const service = await startService({
    config,
    registry: adapterRegistry,
    logger,
    host: process.env.HOST || "127.0.0.1",
    port,
    ...(process.env.BBOT_BRIDGE_ADMIN_TOKEN
      ? { adminToken: process.env.BBOT_BRIDGE_ADMIN_TOKEN }
      : {}),
    ...(process.env.BBOT_BRIDGE_DATA_DIR
      ? { dataDir: process.env.BBOT_BRIDGE_DATA_DIR }
      : {}),
  });

  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, "signal received");
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      void service.stop().then(resolve, (error: Error) => {
        logger.error({ err: error }, "shutdown failed");
        resolve();
      });
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
  return 0;
}

function checkConfigCommand(argv: string[], out: Output, err: Output): number {
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
    out(`config ${file} is valid`);
    out(`data folder: ${process.env.BBOT_BRIDGE_DATA_DIR || config.dataDir}`);
    for (const restaurant of config.restaurants) {
      const matchedBy = [
        restaurant.bbotRestaurantId
          ? `order.restaurant_id ${restaurant.bbotRestaurantId}`
          : "",
        restaurant.customerId ? `restaurant_id ${restaurant.customerId}` : "",
      ]
        .filter(Boolean)
        .join(" or ");
      out(
        `restaurant ${restaurant.id} (${restaurant.name}), ${restaurant.timeZone}, cutoff ${restaurant.businessDayCutoffHour}:00, matched by ${matchedBy}`,
      );
      for (const entry of restaurant.adapters) {
        const events =
          entry.events ?? adapterRegistry.get(entry.type)?.defaultEvents ?? [];
        out(
          `  adapter ${entry.name} (${entry.type})${entry.enabled ? "" : " disabled"}: ${events.join(", ")}`,
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
