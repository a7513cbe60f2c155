import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { writeBenchConfig } from "./config.ts";
import type { ProcessStats } from "./instrument.ts";
import { runLoad, type LoadResult } from "./load.ts";
import { newRunId, SnapshotFactory } from "./payloads.ts";
import { preloadHistory, type PreloadResult } from "./preload.ts";
import { ROOT, startServer, type ServerProcess } from "./processes.ts";
import { describeMachine, renderReport, type BenchReport } from "./report.ts";

/** Seconds of each measured load run (at most 10); `BENCH_SECONDS` overrides it. */
const RUN_SECONDS = Number(process.env.BENCH_SECONDS ?? "10");
/** Seconds of load before the measured runs, so both servers are compiled and warm. */
const WARMUP_SECONDS = 2;
/** Stored orders before each service run; `BENCH_HISTORY=1000,100000` overrides them. */
const HISTORY_SIZES = (process.env.BENCH_HISTORY ?? "1000,10000,100000")
  .split(",")
  .map(Number);
/** Business dates the stored orders are spread over. */
const HISTORY_DAYS = 30;
const CONNECTIONS = [10, 50];
/**
 * A folder for CPU profiles of the service processes (`node --cpu-prof`), from
 * `BENCH_PROFILE_DIR`; unset, nothing is profiled.
 */
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;

/** Measured figures of one server process under the bench's load. */
export interface ServerRun {
  name: string;
  startupMs: number;
  /** Maximum event loop delay from spawn until the first health check returned 200. */
  startupLoopMaxMs: number;
  /** RSS once the first health check returned 200, with the stored history opened. */
  startupRssBytes: number;
  loads: LoadResult[];
  /** Figures of the process from the first warm-up request to the end of its last run. */
  underLoad: ProcessStats;
  preload?: PreloadResult;
}

async function main(): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), "bbot-bridge-bench-"));
  const started = performance.now();
  try {
    const baseline = await measureServer("bare Koa baseline", workDir, {
      args: ["bench/baseline-server.ts"],
      env: {},
    });

    const services: ServerRun[] = [];
    for (const orders of HISTORY_SIZES) {
      const folder = join(workDir, `history-${orders}`);
      const dataDir = join(folder, "data");
      await mkdir(folder, { recursive: true });
      const runId = newRunId();
      process.stdout.write(
        `preloading ${orders} orders over ${HISTORY_DAYS} days... `,
      );
      const preload = await preloadHistory(
        dataDir,
        orders,
        HISTORY_DAYS,
        runId,
      );
      process.stdout.write(`${(preload.durationMs / 1000).toFixed(1)} s\n`);

      const config = await writeBenchConfig(folder, dataDir);
      const run = await measureServer(
        `bbot-bridge, ${orders} stored orders`,
        folder,
        {
          args: ["src/cli/run.ts", "serve"],
          nodeOptions: PROFILE_DIR
            ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`]
            : [],
          env: {
            BBOT_BRIDGE_CONFIG: config,
            BBOT_BRIDGE_DATA_DIR: dataDir,
          },
        },
        new SnapshotFactory(runId),
        orders,
      );
      services.push({ ...run, preload });
      await rm(folder, { recursive: true, force: true });
    }

    const report: BenchReport = {
      machine: await describeMachine(ROOT),
      runSeconds: RUN_SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      historyDays: HISTORY_DAYS,
      baseline,
      services,
      totalSeconds: (performance.now() - started) / 1000,
    };
    const markdown = renderReport(report);
    console.log(`\n${markdown}`);
    await writeFile(join(ROOT, "bench", "RESULTS.md"), markdown);
    console.log("written to bench/RESULTS.md");
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Starts one server process, warms it up, runs the load at each connection count and
 * collects its figures, then stops it.
 */
async function measureServer(
  name: string,
  folder: string,
  command: {
    args: string[];
    env: Record<string, string>;
    nodeOptions?: string[];
  },
  factory = new SnapshotFactory(newRunId()),
  firstOrder = 0,
): Promise<ServerRun> {
  console.log(`starting ${name}`);
  const server = await startServer({
    ...command,
    logFile: join(folder, "server.log"),
  });
  try {
    const startup = await server.stats(true);
    const loads: LoadResult[] = [];
    let nextOrder = firstOrder;
    const load = async (connections: number, seconds: number) => {
      const result = await runLoad({
        url: server.url,
        connections,
        durationSeconds: seconds,
        factory,
        firstOrder: nextOrder,
        placedAtMs: Date.now(),
      });
      nextOrder += result.orders;
      return result;
    };

    await load(CONNECTIONS[0]!, WARMUP_SECONDS);
    for (const connections of CONNECTIONS) {
      const result = await load(connections, RUN_SECONDS);
      loads.push(result);
      console.log(`  ${connections} connections: ${formatLoad(result)}`);
    }
    const underLoad = await server.stats(false);
    return {
      name,
      startupMs: server.startupMs,
      startupLoopMaxMs: startup.maxLoopDelayMs,
      startupRssBytes: startup.rssBytes,
      loads,
      underLoad,
    };
  } finally {
    await stop(server);
  }
}

async function stop(server: ServerProcess): Promise<void> {
  await server.stop();
}

function formatLoad(result: LoadResult): string {
  return `${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ${result.errors} errors`;
}

await main();
