import { ConfigError } from "../config/load.ts";
import {
  EXPORT_USAGE,
  TOTALS_USAGE,
  runExportCommand,
  runTotalsCommand,
  urlFlagOf,
} from "../export/commands.ts";
import { StoreCorruptError, StoreLockedError } from "../store/errors.ts";
import { AdminClient, AdminRequestError, adminTarget } from "./admin-client.ts";
import { DELIVERIES_USAGE, runDeliveriesCommand } from "./deliveries.ts";
import { DEMO_USAGE, demoCommand } from "./demo.ts";
import { QUARANTINE_USAGE, runQuarantineCommand } from "./quarantine.ts";
import { SEND_SAMPLE_USAGE, runSendSample } from "./send-sample.ts";
import {
  CHECK_USAGE,
  SERVE_USAGE,
  checkConfigCommand,
  serveCommand,
} from "./serve.ts";
import { StartupError } from "../service.ts";
import { UsageError } from "./usage.ts";

const USAGE = `Usage: bbot-bridge <command> [options]

Commands:
  serve          start the service (default config: config/default.json)
  check-config   validate a config file and summarize it, without starting anything
  demo           play a dinner service against fake Slack, POS, loyalty and accounting APIs
  send-sample    post the sample order's lifecycle to a running service
  deliveries     list, inspect, retry and discard deliveries
  quarantine     list, inspect and replay rejected webhook bodies
  export         export a business date's journal entry on a running service
  totals         print a restaurant's totals for a business date
  help COMMAND   print a command's options (same as "bbot-bridge COMMAND --help")

Environment:
  BBOT_BRIDGE_CONFIG       config file (default config/default.json)
  BBOT_BRIDGE_DATA_DIR     data folder, overriding the config's dataDir
  PORT, HOST               listen address (default 3000 on 127.0.0.1)
  BBOT_BRIDGE_ADMIN_TOKEN  bearer token of the admin API; the API is off when unset
`;

type Output = (text: string) => void;

/** A subcommand: its usage text and how to run it. */
interface Command {
  usage: string;
  run(argv: string[], out: Output, err: Output): Promise<number> | number;
}

/** Builds the admin API client of the export commands from their `--url` flag. */
const exportClient = (argv: string[]) =>
  new AdminClient(adminTarget(urlFlagOf(argv)));

const COMMANDS: Record<string, Command> = {
  serve: { usage: SERVE_USAGE, run: (argv, out) => serveCommand(argv, out) },
  "check-config": { usage: CHECK_USAGE, run: checkConfigCommand },
  demo: { usage: DEMO_USAGE, run: (argv, out) => demoCommand(argv, out) },
  "send-sample": {
    usage: SEND_SAMPLE_USAGE,
    run: (argv, out) => runSendSample(argv, out),
  },
  deliveries: {
    usage: DELIVERIES_USAGE,
    run: (argv, out) => runDeliveriesCommand(argv, out),
  },
  quarantine: {
    usage: QUARANTINE_USAGE,
    run: (argv, out) => runQuarantineCommand(argv, out),
  },
  export: {
    usage: EXPORT_USAGE,
    run: (argv, out) => runExportCommand(argv, exportClient(argv), out),
  },
  totals: {
    usage: TOTALS_USAGE,
    run: (argv, out) => runTotalsCommand(argv, exportClient(argv), out),
  },
};

/** The subcommand names, in the order the usage lists them. */
export const COMMAND_NAMES = Object.keys(COMMANDS);

/** Runs the CLI with the given arguments; returns the exit code. */
export async function main(
  argv: string[],
  out: Output,
  err: Output,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h") {
    out(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === "help") {
    const topic = rest[0] === undefined ? undefined : COMMANDS[rest[0]];
    out(topic?.usage ?? USAGE);
    return 0;
  }

  const command = COMMANDS[name];
  if (!command) {
    err(`unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command.run(rest, out, err);
  } catch (error) {
    return reportFailure(error, command, err);
  }
}

/** Prints an expected failure and returns its exit code; rethrows anything else. */
function reportFailure(error: unknown, command: Command, err: Output): number {
  if (error instanceof UsageError) {
    err(`${error.message}\n\n${error.usage}`);
    return 2;
  }
  if (
    error instanceof TypeError &&
    (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
  ) {
    err(`${error.message}\n\n${command.usage}`);
    return 2;
  }
  if (
    error instanceof ConfigError ||
    error instanceof AdminRequestError ||
    error instanceof StoreCorruptError ||
    error instanceof StoreLockedError ||
    error instanceof StartupError
  ) {
    err(error.message);
    return 1;
  }
  throw error;
}
