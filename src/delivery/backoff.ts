import type { BreakerPolicy, RetryPolicy } from "../config/schema.ts";

/**
 * The delay before the attempt after `attempts` failed ones: exponential from
 * `initialDelayMs`, capped at `maxDelayMs`, spread by ±`jitter` so retries of many deliveries
 * do not arrive together. With the defaults, 16 attempts span about two days.
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
 */
export class CircuitBreaker {
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

  /** Tells whether an attempt may start now; in half-open state only one may. */
  allows(now: number): boolean {
    if (this.current === "open" && now >= this.openUntil)
      this.move("half-open");
    if (this.current === "closed") return true;
    if (this.current === "half-open" && !this.probing) return true;
    return false;
  }

  /** Records that an attempt started, so half-open state lets no second one through. */
  started(): void {
    if (this.current === "half-open") this.probing = true;
  }

  succeeded(): void {
    this.failures = 0;
    this.probing = false;
    this.cooldownMs = this.policy.cooldownMs;
    if (this.current !== "closed") this.move("closed");
  }

  /** Records a transient failure; a permanent one says the destination is up and is not counted. */
  failed(now: number): void {
    this.failures += 1;
    if (this.current === "half-open") {
      this.probing = false;
      this.cooldownMs = Math.min(
        this.policy.maxCooldownMs,
        this.cooldownMs * 2,
      );
      this.open(now);
    } else if (
      this.current === "closed" &&
      this.failures >= this.policy.failureThreshold
    ) {
      this.open(now);
    }
  }

  /** Ends a probe that neither succeeded nor failed transiently. */
  settled(): void {
    this.probing = false;
  }

  private open(now: number): void {
    this.openUntil = now + this.cooldownMs;
    this.move("open");
  }

  private move(to: BreakerState): void {
    const from = this.current;
    this.current = to;
    this.onChange(from, to, this.failures);
  }
}
