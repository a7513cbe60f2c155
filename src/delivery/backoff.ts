import type { BreakerPolicy, RetryPolicy } from "../config/schema.ts";

/**
 * Returns the delay before the attempt after `attempts` failed ones. It grows exponentially
 * from `initialDelayMs` up to `maxDelayMs`, then is spread by ±`jitter` so retries of many
 * deliveries do not arrive together. Jitter can take a delay past the cap by up to `jitter`.
 * With the defaults, the 17 waits between 18 attempts add up to 50.5 hours (about two days),
 * and the ±20 % jitter moves that total between 40.4 and 60.6 hours.
 */
export function retryDelay(
  policy: RetryPolicy,
  attempts: number,
  random: () => number,
): number {
  const exponent = Math.max(0, attempts - 1);
  const base = Math.min(
    policy.maxDelayMs,
    policy.initialDelayMs * 2 ** Math.min(exponent, 40),
  );
  const spread = base * policy.jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(base + spread));
}

export type BreakerState = "closed" | "open" | "half-open";

/**
 * A circuit breaker for one destination. After `failureThreshold` consecutive transient
 * failures it opens: nothing is attempted, so no delivery spends its attempts. After the
 * cooldown one probe is let through; success closes it, failure opens it again for twice as long.
 * `Trigger` is a value the caller passes with an outcome, such as the logger of the delivery
 * that caused a state change. It reaches `onChange` unchanged.
 */
export class CircuitBreaker<Trigger = unknown> {
  private failures = 0;
  private openUntil = 0;
  private cooldownMs: number;
  private probing = false;
  private current: BreakerState = "closed";

  constructor(
    private readonly policy: BreakerPolicy,
    private readonly onChange: (
      from: BreakerState,
      to: BreakerState,
      failures: number,
      trigger: Trigger | undefined,
    ) => void,
  ) {
    this.cooldownMs = policy.cooldownMs;
  }

  get state(): BreakerState {
    return this.current;
  }

  /** Epoch milliseconds at which an open breaker lets a probe through. */
  get reopensAt(): number {
    return this.openUntil;
  }

  /**
   * Tells whether an attempt may start now: always when closed, once the cooldown has passed
   * when open, and only while no probe runs when half-open.
   */
  allows(now: number): boolean {
    if (this.current === "closed") return true;
    if (this.current === "open") return now >= this.openUntil;
    return !this.probing;
  }

  /**
   * Records that an attempt started. Starting one on an open breaker (which `allows` permits
   * after the cooldown) makes it the half-open probe, and no second attempt gets through.
   */
  started(trigger?: Trigger): void {
    if (this.current === "open") this.move("half-open", trigger);
    if (this.current === "half-open") this.probing = true;
  }

  succeeded(trigger?: Trigger): void {
    this.failures = 0;
    this.probing = false;
    this.cooldownMs = this.policy.cooldownMs;
    if (this.current !== "closed") this.move("closed", trigger);
  }

  /** Records a transient failure. Permanent failures are not counted, because they show the destination is up. */
  failed(now: number, trigger?: Trigger): void {
    this.failures += 1;
    if (this.current === "half-open") {
      this.probing = false;
      this.cooldownMs = Math.min(
        this.policy.maxCooldownMs,
        this.cooldownMs * 2,
      );
      this.open(now, trigger);
    } else if (
      this.current === "closed" &&
      this.failures >= this.policy.failureThreshold
    ) {
      this.open(now, trigger);
    }
  }

  /** Ends a probe that neither succeeded nor failed transiently. */
  settled(): void {
    this.probing = false;
  }

  private open(now: number, trigger: Trigger | undefined): void {
    this.openUntil = now + this.cooldownMs;
    this.move("open", trigger);
  }

  private move(to: BreakerState, trigger: Trigger | undefined): void {
    const from = this.current;
    this.current = to;
    this.onChange(from, to, this.failures, trigger);
  }
}
