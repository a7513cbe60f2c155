import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { adapterEntrySchema } from "../src/config/schema.ts";
import {
  CircuitBreaker,
  retryDelay,
  type BreakerState,
} from "../src/delivery/backoff.ts";
import {
  excerptBody,
  isRetryableStatus,
  parseRetryAfter,
} from "../src/delivery/errors.ts";

const HOUR = 3_600_000;
const defaults = adapterEntrySchema.cast({ name: "pos", type: "http-test" });

/** Sum of the waits between `maxAttempts` attempts with a fixed random value. */
function schedule(random: number): number {
  let total = 0;
  for (let attempt = 1; attempt < defaults.retry.maxAttempts; attempt += 1)
    total += retryDelay(defaults.retry, attempt, () => random);
  return total;
}

describe("retryDelay", () => {
  it("default schedule spans about two days", () => {
    assert.equal(defaults.retry.maxAttempts, 18);
    // 30 s doubling for ten waits (8.525 h), then seven waits at the 6 h cap.
    assert.equal(schedule(0.5), 181_890_000);
    assert.ok(schedule(0.5) / HOUR > 50);
    assert.ok(schedule(0.5) / HOUR < 51);
    assert.equal(schedule(0), Math.round(181_890_000 * 0.8));
    assert.ok(Math.abs(schedule(0.999999) - 181_890_000 * 1.2) < 1_000);
  });

  it("grows exponentially up to the cap", () => {
    const delays = [1, 2, 3, 10, 11, 15, 60].map((attempt) =>
      retryDelay(defaults.retry, attempt, () => 0.5),
    );
    assert.deepEqual(delays, [
      30_000,
      60_000,
      120_000,
      15_360_000,
      6 * HOUR,
      6 * HOUR,
      6 * HOUR,
    ]);
  });

  it("jitter stays within the spread", () => {
    const policy = { ...defaults.retry, jitter: 0.2 };
    for (const random of [0, 0.25, 0.5, 0.75, 0.999]) {
      const delay = retryDelay(policy, 1, () => random);
      assert.ok(delay >= 24_000, `${random}: ${delay}`);
      assert.ok(delay <= 36_000, `${random}: ${delay}`);
    }
    assert.equal(
      retryDelay({ ...policy, jitter: 0 }, 1, () => 0),
      30_000,
    );
  });
});

describe("CircuitBreaker", () => {
  const policy = {
    failureThreshold: 3,
    cooldownMs: 1_000,
    maxCooldownMs: 3_000,
  };

  function breaker() {
    const changes: [BreakerState, BreakerState, string | undefined][] = [];
    const instance = new CircuitBreaker<string>(
      policy,
      (from, to, _failures, trigger) => changes.push([from, to, trigger]),
    );
    return { instance, changes };
  }

  it("opens after the threshold and blocks", () => {
    const { instance, changes } = breaker();
    instance.failed(0, "a");
    instance.failed(0, "b");
    assert.equal(instance.state, "closed");
    assert.ok(instance.allows(0));
    instance.failed(10, "c");
    assert.equal(instance.state, "open");
    assert.deepEqual(changes, [["closed", "open", "c"]]);
    assert.equal(instance.reopensAt, 1_010);
    assert.equal(instance.allows(1_009), false);
  });

  it("success resets the failure count", () => {
    const { instance } = breaker();
    instance.failed(0);
    instance.failed(0);
    instance.succeeded();
    instance.failed(0);
    instance.failed(0);
    assert.equal(instance.state, "closed");
  });

  it("lets one probe through after the cooldown", () => {
    const { instance, changes } = breaker();
    for (let count = 0; count < 3; count += 1) instance.failed(0);
    assert.ok(instance.allows(1_000));
    instance.started("probe");
    assert.equal(instance.state, "half-open");
    assert.equal(instance.allows(1_000), false, "a second probe got through");
    instance.succeeded("probe");
    assert.equal(instance.state, "closed");
    assert.deepEqual(changes.slice(1), [
      ["open", "half-open", "probe"],
      ["half-open", "closed", "probe"],
    ]);
  });

  it("failed probes double the cooldown up to the cap", () => {
    const { instance } = breaker();
    for (let count = 0; count < 3; count += 1) instance.failed(0);
    let now = 0;
    for (const expected of [2_000, 3_000, 3_000]) {
      now = instance.reopensAt;
      instance.started();
      instance.failed(now);
      assert.equal(instance.state, "open");
      assert.equal(instance.reopensAt - now, expected);
    }
    now = instance.reopensAt;
    instance.started();
    instance.succeeded();
    for (let count = 0; count < 3; count += 1) instance.failed(now);
    assert.equal(
      instance.reopensAt - now,
      1_000,
      "cooldown not reset by success",
    );
  });

  it("settled probe lets the next one through", () => {
    const { instance } = breaker();
    for (let count = 0; count < 3; count += 1) instance.failed(0);
    instance.started();
    instance.settled();
    assert.equal(instance.state, "half-open");
    assert.ok(instance.allows(1_000));
  });
});

describe("failure classification", () => {
  it("retries 408, 425, 429 and 5xx only", () => {
    for (const status of [408, 425, 429, 500, 502, 503, 504, 599])
      assert.equal(isRetryableStatus(status), true, String(status));
    for (const status of [400, 401, 403, 404, 409, 410, 413, 422, 301])
      assert.equal(isRetryableStatus(status), false, String(status));
  });

  it("Retry-After reads seconds and HTTP dates", () => {
    const now = Date.parse("2026-03-10T15:00:00Z");
    assert.equal(parseRetryAfter("120", now), 120_000);
    assert.equal(parseRetryAfter(" 0 ", now), 0);
    assert.equal(
      parseRetryAfter("Tue, 10 Mar 2026 15:05:00 GMT", now),
      300_000,
    );
    assert.equal(parseRetryAfter("Tue, 10 Mar 2026 14:00:00 GMT", now), 0);
    assert.equal(parseRetryAfter("soon", now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
    assert.equal(parseRetryAfter("", now), undefined);
  });

  it("body excerpt masks credentials and stays short", () => {
    const excerpt = excerptBody({
      token: "abc",
      Authorization: "Bearer tok_secret",
      nested: "password=hunter2",
      hook: "https://hooks.slack.com/services/T000/B000/XXXX",
      slack: "xoxb-123-abc",
    });
    for (const secret of [
      'abc"',
      "tok_secret",
      "hunter2",
      "T000/B000",
      "xoxb-123",
    ])
      assert.ok(!excerpt.includes(secret), `${secret} in ${excerpt}`);
    assert.equal(excerptBody("x".repeat(500)).length, 301);
    assert.equal(excerptBody(undefined), "");
  });
});
