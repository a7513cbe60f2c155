import autocannon from "autocannon";
import type { AutocannonRequest, AutocannonResult } from "autocannon";

import { BENCH_AUTHORIZATION, requestAt, SnapshotFactory } from "./payloads.ts";

/** Orders open at the same time during a load run; see `requestAt`. */
const OPEN_ORDERS = 500;

/** One load run's figures. */
export interface LoadResult {
  connections: number;
  durationSeconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Responses that were 2xx. */
  ok: number;
  /** Connection errors, timeouts and non-2xx responses. */
  errors: number;
  statusCodes: Record<string, number>;
  /** Orders the run sent snapshots for, so the next run can start after them. */
  orders: number;
}

/** Options for `runLoad`. */
export interface LoadOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  factory: SnapshotFactory;
  /** Index of the first order of this run, so runs against one service send new orders. */
  firstOrder: number;
  /** Placement time of the run's orders: today, so they land in today's partitions. */
  placedAtMs: number;
}

/**
 * Posts webhooks with autocannon for a fixed time: each request is the next snapshot of one of
 * `OPEN_ORDERS` open orders, so a quarter of them create orders and the rest are status changes.
 */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (options.durationSeconds > 10) {
    throw new RangeError(
      `a load run lasts at most 10 s, not ${options.durationSeconds}`,
    );
  }

  let sequence = 0;
  let highestOrder = 0;
  const request: AutocannonRequest = {
    method: "POST",
    path: "/webhooks/bbot",
    headers: {
      "content-type": "application/json",
      authorization: BENCH_AUTHORIZATION,
    },
    setupRequest: (next) => {
      const { order, stage } = requestAt(sequence, OPEN_ORDERS);
      sequence += 1;
      highestOrder = Math.max(highestOrder, order);
      const index = options.firstOrder + order;
      next.body = options.factory.body(
        index,
        stage,
        options.placedAtMs + (index % 3_600) * 1000,
      );
      return next;
    },
  };

  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSeconds,
        timeout: 10,
        requests: [request],
      },
      (error, result) => {
        if (error) reject(error);
        else resolve(summarize(options, result, highestOrder + 1));
      },
    );
  });
}

function summarize(
  options: LoadOptions,
  result: AutocannonResult,
  orders: number,
): LoadResult {
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {}))
    statusCodes[code] = Number(stats.count);
  const ok = Object.entries(statusCodes)
    .filter(([code]) => code.startsWith("2"))
    .reduce((sum, [, count]) => sum + count, 0);

  return {
    connections: options.connections,
    durationSeconds: result.duration,
    requestsPerSecond: ok / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    ok,
    errors: result.errors + result.non2xx,
    statusCodes,
    orders,
  };
}
