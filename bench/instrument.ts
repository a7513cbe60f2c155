import { monitorEventLoopDelay } from "node:perf_hooks";

/**
 * Loaded with `--import` into the bench's server processes (the service and the baseline),
 * so neither needs code of its own for measuring. It records the event loop delay with
 * `perf_hooks.monitorEventLoopDelay` (10 ms resolution) and samples RSS every 100 ms, and
 * sends both to the bench over the IPC channel on request. A `reset` message starts a new
 * measuring window. When the IPC channel closes, the process sends itself SIGTERM.
 */

/** A request from the bench. */
interface StatsRequest {
  type: "stats";
  reset: boolean;
}

/** The figures of one measuring window. */
export interface ProcessStats {
  type: "stats";
  /** Maximum event loop delay, in milliseconds. */
  maxLoopDelayMs: number;
  p99LoopDelayMs: number;
  /** RSS now and the highest sample of the window, in bytes. */
  rssBytes: number;
  peakRssBytes: number;
  heapUsedBytes: number;
}

if (process.send) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 100);
  sampler.unref();

  process.on("message", (message: StatsRequest) => {
    if (message?.type !== "stats") return;
    const rss = process.memoryUsage.rss();
    const stats: ProcessStats = {
      type: "stats",
      maxLoopDelayMs: histogram.max / 1e6,
      p99LoopDelayMs: histogram.percentile(99) / 1e6,
      rssBytes: rss,
      peakRssBytes: Math.max(peakRss, rss),
      heapUsedBytes: process.memoryUsage().heapUsed,
    };
    process.send!(stats);
    if (message.reset) {
      histogram.reset();
      peakRss = rss;
    }
  });
  process.channel?.unref();
  // The bench is gone because it crashed or was interrupted, so stop as on Ctrl-C rather
  // than run on unobserved.
  process.once("disconnect", () => process.kill(process.pid, "SIGTERM"));
}
