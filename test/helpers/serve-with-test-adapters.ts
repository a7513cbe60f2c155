// Starts the service like `bbot-bridge serve`, with the test adapter types in its registry, so
// child-process tests can point an `http-test` adapter at a fake server. Reads the config file
// from BBOT_BRIDGE_CONFIG and the same environment variables as the CLI.
import { loadConfig } from "../../src/config/load.ts";
import { createLogger } from "../../src/logger.ts";
import { startService } from "../../src/service.ts";
import { testRegistry } from "./http-adapter.ts";

const configFile = process.env.BBOT_BRIDGE_CONFIG;
if (!configFile)
  throw new Error("BBOT_BRIDGE_CONFIG must name the test config file");

const { config } = loadConfig(configFile, testRegistry);
const logger = createLogger({ level: config.logging.level });
const service = await startService({
  config,
  registry: testRegistry,
  logger,
  host: "127.0.0.1",
  port: Number(process.env.PORT ?? "0"),
  ...(process.env.BBOT_BRIDGE_ADMIN_TOKEN
    ? { adminToken: process.env.BBOT_BRIDGE_ADMIN_TOKEN }
    : {}),
  ...(process.env.BBOT_BRIDGE_DATA_DIR
    ? { dataDir: process.env.BBOT_BRIDGE_DATA_DIR }
    : {}),
});

const onSignal = () => {
  process.off("SIGTERM", onSignal);
  void service.stop().then(() => process.exit(0));
};
process.on("SIGTERM", onSignal);
