import { performance } from "node:perf_hooks";
import { setTimeout as delay } from "node:timers/promises";

import { TransientDeliveryError } from "../../src/delivery/errors.ts";

/**
 * Sends messages to each channel one at a time, in arrival order, at least `intervalMs` apart,
 * because Slack allows about one message per second per channel for `chat.postMessage` and
 * incoming webhooks. The spacing runs from the end of one send to the start of the next, so
 * the arrivals at Slack are at least as far apart.
 *
 * Time comes from the monotonic `performance.now()`, not the delivery clock, because the
 * waits are real timers.
 */
export class ChannelPacer {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly nextSendAt = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Runs `send` when the channel's turn comes. Waiting stops with a `TransientDeliveryError`
   * when `signal` aborts. A failure that carries `retryAfterMs` holds back the channel's
   * following messages for that long.
   */
  async run<T>(
    channel: string,
    signal: AbortSignal,
    send: () => Promise<T>,
  ): Promise<T> {
    const previous = this.tails.get(channel) ?? Promise.resolve();
    let release: () => void = () => {};
    const turn = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => turn);
    this.tails.set(channel, tail);

    try {
      await waitOrAbort(previous, signal);
      const wait = (this.nextSendAt.get(channel) ?? 0) - this.now();
      if (wait > 0) await sleep(wait, signal);
      return await this.sendAndSpace(channel, send);
    } finally {
      release();
      if (this.tails.get(channel) === tail) this.tails.delete(channel);
    }
  }

  private async sendAndSpace<T>(
    channel: string,
    send: () => Promise<T>,
  ): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof TransientDeliveryError) {
        this.holdBack(channel, error.details.retryAfterMs ?? 0);
      }
      throw error;
    } finally {
      this.holdBack(channel, this.intervalMs);
    }
  }

  private holdBack(channel: string, ms: number): void {
    const current = this.nextSendAt.get(channel) ?? 0;
    this.nextSendAt.set(channel, Math.max(current, this.now() + ms));
  }
}

/** Waits for the previous message of the channel; its outcome does not matter here. */
async function waitOrAbort(
  previous: Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) throw aborted(signal);

  let onAbort: () => void = () => {};
  const abort = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(aborted(signal));
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    await Promise.race([previous.catch(() => undefined), abort]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (error) {
    if (signal.aborted) throw aborted(signal);
    throw error;
  }
}

function aborted(signal: AbortSignal): TransientDeliveryError {
  return new TransientDeliveryError(
    "attempt aborted while waiting for the channel's rate limit",
    {},
    { cause: signal.reason },
  );
}
