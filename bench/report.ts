import { readFile } from "node:fs/promises";
import { cpus, release, totalmem } from "node:os";
import { join } from "node:path";

import type { LoadResult } from "./load.ts";
import type { ServerRun } from "./run.ts";

/** The machine and software a bench ran on. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  packages: Record<string, string>;
}

/** Everything one `npm run bench` measured. */
export interface BenchReport {
  machine: MachineInfo;
  runSeconds: number;
  warmupSeconds: number;
  historyDays: number;
  baseline: ServerRun;
  services: ServerRun[];
  totalSeconds: number;
}

/** One target of the benchmark, with the measured value and whether it is met. */
interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
}

const REPORTED_PACKAGES = [
  "koa",
  "@koa/bodyparser",
  "lowdb",
  "autocannon",
  "tsx",
  "yup",
  "pino",
];

/** Collects the CPU, memory, kernel, Node version and installed package versions. */
export async function describeMachine(root: string): Promise<MachineInfo> {
  const packages: Record<string, string> = {};
  for (const name of REPORTED_PACKAGES) {
    const manifest = JSON.parse(
      await readFile(join(root, "node_modules", name, "package.json"), "utf8"),
    ) as { version: string };
    packages[name] = manifest.version;
  }
  const processors = cpus();
  return {
    cpu: processors[0]?.model ?? "unknown",
    cores: processors.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: `Linux ${release()}`,
    node: process.version,
    packages,
  };
}

/** Renders the report as the Markdown of `bench/RESULTS.md`. */
export function renderReport(report: BenchReport): string {
  const checks = checkTargets(report);
  const machine = report.machine;
  const lines = [
    "# Benchmark results",
    "",
    `Recorded by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)} in ${report.totalSeconds.toFixed(0)} s.`,
    "",
    `- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.kernel}`,
    `- Node ${machine.node}; ${Object.entries(machine.packages)
      .map(([name, version]) => `${name} ${version}`)
      .join(", ")}`,
    `- Each server runs in its own process; autocannon runs in the bench process. Each measured run lasts ${report.runSeconds} s after a ${report.warmupSeconds} s warm-up at 10 connections.`,
    `- Stored orders are spread over ${report.historyDays} past business dates.`,
    "",
    "## Targets",
    "",
    "| Target | Measured | Met |",
    "|---|---|---|",
    ...checks.map(
      (check) =>
        `| ${check.target} | ${check.measured} | ${check.met ? "yes" : "**no**"} |`,
    ),
    "",
    "## Runs",
    "",
    "| Server | Connections | req/s | p50 ms | p99 ms | max ms | Errors | Ratio to baseline |",
    "|---|---|---|---|---|---|---|---|",
    ...loadRows(report),
    "",
    "## Processes",
    "",
    "| Server | Start-up ms | Loop max at start-up ms | Loop max under load ms | Loop p99 under load ms | RSS at start-up MB | Peak RSS MB | RSS at end MB | Heap used at end MB | Preload s |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...[report.baseline, ...report.services].map(processRow),
    "",
  ];
  return lines.join("\n");
}

function loadRows(report: BenchReport): string[] {
  const rows: string[] = [];
  for (const run of [report.baseline, ...report.services]) {
    for (const load of run.loads) {
      const base = report.baseline.loads.find(
        (candidate) => candidate.connections === load.connections,
      );
      const ratio = base ? load.requestsPerSecond / base.requestsPerSecond : 0;
      rows.push(
        `| ${run.name} | ${load.connections} | ${load.requestsPerSecond.toFixed(0)} | ${load.p50Ms} | ${load.p99Ms} | ${load.maxMs} | ${load.errors} | ${ratio.toFixed(2)} |`,
      );
    }
  }
  return rows;
}

function processRow(run: ServerRun): string {
  const megabytes = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  return [
    "",
    run.name,
    run.startupMs.toFixed(0),
    run.startupLoopMaxMs.toFixed(1),
    run.underLoad.maxLoopDelayMs.toFixed(1),
    run.underLoad.p99LoopDelayMs.toFixed(1),
    megabytes(run.startupRssBytes),
    megabytes(run.underLoad.peakRssBytes),
    megabytes(run.underLoad.rssBytes),
    megabytes(run.underLoad.heapUsedBytes),
    run.preload ? (run.preload.durationMs / 1000).toFixed(1) : "",
    "",
  ]
    .join(" | ")
    .trim();
}

function loadAt(run: ServerRun, connections: number): LoadResult {
  const load = run.loads.find(
    (candidate) => candidate.connections === connections,
  );
  if (!load)
    throw new Error(`${run.name} has no run at ${connections} connections`);
  return load;
}

function checkTargets(report: BenchReport): TargetCheck[] {
  const baseline = loadAt(report.baseline, 10);
  const smallest = report.services[0]!;
  const largest = report.services.at(-1)!;
  const service = loadAt(smallest, 10);

  const throughputRatio =
    service.requestsPerSecond / baseline.requestsPerSecond;
  const latencyRatio = service.p99Ms / baseline.p99Ms;
  const historyRatio =
    loadAt(largest, 10).requestsPerSecond / service.requestsPerSecond;
  const peakRssMb = largest.underLoad.peakRssBytes / 2 ** 20;
  const loopMax = Math.max(
    ...report.services.map((run) => run.underLoad.maxLoopDelayMs),
  );
  const largestName = `${largest.preload?.orders ?? "?"} stored orders`;

  return [
    {
      target: "Throughput at 10 connections ≥ 0.5× baseline",
      measured: `${throughputRatio.toFixed(2)}× (${service.requestsPerSecond.toFixed(0)} / ${baseline.requestsPerSecond.toFixed(0)} req/s)`,
      met: throughputRatio >= 0.5,
    },
    {
      target: "p99 at 10 connections ≤ 4× baseline p99",
      measured: `${latencyRatio.toFixed(2)}× (${service.p99Ms} / ${baseline.p99Ms} ms)`,
      met: latencyRatio <= 4,
    },
    {
      target: `Throughput with ${largestName} ≥ 0.8× with ${smallest.preload?.orders ?? "?"}`,
      measured: `${historyRatio.toFixed(2)}×`,
      met: historyRatio >= 0.8,
    },
    {
      target: `Peak RSS with ${largestName} < 300 MB`,
      measured: `${peakRssMb.toFixed(0)} MB`,
      met: peakRssMb < 300,
    },
    {
      target: `Start-up with ${largestName} < 5 s`,
      measured: `${(largest.startupMs / 1000).toFixed(2)} s`,
      met: largest.startupMs < 5000,
    },
    {
      target: "Event loop delay under load ≤ 50 ms",
      measured: `${loopMax.toFixed(1)} ms max`,
      met: loopMax <= 50,
    },
  ];
}
