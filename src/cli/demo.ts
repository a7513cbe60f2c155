import { resolve } from "node:path";
import { parseArgs } from "node:util";

import { runDemo, formatDemoReport } from "../demo/run.ts";
import { createLogger } from "../logger.ts";
import { UsageError } from "./usage.ts";

export const DEMO_USAGE = `Usage: bbot-bridge demo [options]

Plays a dinner service end to end on this machine: starts the service on 127.0.0.1 with fake
Slack, POS, loyalty and accounting APIs (for each adapter type this build registers), sends a
few dozen orders from the sample through their lifecycle with a refund, keeps one destination
down during the rush so its deliveries retry, then prints what each destination received.
Exit code 1 when a delivery is still open at the end.

  --orders N        orders in the service (default 24)
  --refunds N       orders that get a partial refund (default 2)
  --data-dir DIR    keep the store, events file and exports in DIR (default: a temporary
                    folder, removed afterwards)
  --log-level L     service log level on stderr: fatal, error, warn, info, debug (default warn)
  --pretty          human-readable service logs
`;

/** Runs `bbot-bridge demo`; returns the exit code. */
export async function demoCommand(
  argv: string[],
  out: (text: string) => void,
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      orders: { type: "string", default: "24" },
      refunds: { type: "string", default: "2" },
      "data-dir": { type: "string" },
      "log-level": { type: "string", default: "warn" },
      pretty: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    out(DEMO_USAGE);
    return 0;
  }

  const orders = wholeNumber("--orders", values.orders, 1, 500);
  const refunds = wholeNumber("--refunds", values.refunds, 0, orders);
  const logger = values.pretty
    ? createLogger({ level: values["log-level"], pretty: true })
    : createLogger({ level: values["log-level"], destination: process.stderr });

  const report = await runDemo({
    orders,
    refunds,
    logger,
    progress: (line) => out(`demo: ${line}`),
    ...(values["data-dir"] ? { dataDir: resolve(values["data-dir"]) } : {}),
  });
  out(formatDemoReport(report));
  return report.settled ? 0 : 1;
}

function wholeNumber(
  flag: string,
  text: string,
  min: number,
  max: number,
): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(
      `${flag} must be a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`,
      DEMO_USAGE,
    );
  }
  return value;
}
