import { writeFile } from "node:fs/promises";
import { join } from "node:path";

import { adapterRegistry } from "../adapters/index.ts";
import { checkConfig } from "../src/config/load.ts";
import type { BridgeConfig } from "../src/config/schema.ts";
import {
  BENCH_BBOT_RESTAURANT_ID,
  BENCH_PASSWORD,
  BENCH_USER,
} from "./payloads.ts";

/**
 * Builds the bench service's config: one restaurant with the jsonl adapter, which appends every
 * event to `events.jsonl` in the data folder. Each webhook thus pays for its outbox rows and
 * their delivery, as in production, without a network destination.
 */
export function benchConfig(dataDir: string): Record<string, unknown> {
  return {
    dataDir,
    logging: { level: "info" },
    restaurants: [
      {
        id: "bench",
        name: "Bench Brasserie",
        bbotRestaurantId: BENCH_BBOT_RESTAURANT_ID,
        timeZone: "America/New_York",
        businessDayCutoffHour: 4,
        auth: { username: BENCH_USER, password: BENCH_PASSWORD },
        adapters: [
          {
            name: "events-file",
            type: "jsonl",
            events: ["*"],
            options: { path: "events.jsonl" },
          },
        ],
      },
    ],
  };
}

/** Writes the bench config next to the data folder and returns its path. */
export async function writeBenchConfig(
  folder: string,
  dataDir: string,
): Promise<string> {
  const file = join(folder, "bench-config.json");
  await writeFile(file, JSON.stringify(benchConfig(dataDir), null, 2));
  return file;
}

/** Checks the bench config as the service does and returns the result. */
export function checkedBenchConfig(dataDir: string): BridgeConfig {
  return checkConfig(
    "bench-config.json",
    benchConfig(dataDir),
    adapterRegistry,
  );
}
