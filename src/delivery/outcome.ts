import type { Logger } from "pino";

import { businessDateOf } from "../bbot/business-date.ts";
import type { RestaurantConfig } from "../config/schema.ts";
import {
  stableId,
  type BridgeEvent,
  type DeadLetterEvent,
} from "../orders/events.ts";
import { retryDelay } from "./backoff.ts";
import type { AdapterSlot } from "./engine.ts";
import {
  PermanentDeliveryError,
  TransientDeliveryError,
  type FailureDetails,
} from "./errors.ts";
import {
  HISTORY_LIMIT,
  type AttemptRecord,
  type DeliveryRecord,
} from "./records.ts";

/**
 * Builds a delivery's record after one attempt: delivered, retried later with backoff (or
 * after the destination's `Retry-After`), or dead. Feeds the adapter's breaker and logs the
 * outcome with the attempt's ids.
 */
export function recordOutcome(input: {
  slot: AdapterSlot;
  record: DeliveryRecord;
  attempt: number;
  started: number;
  durationMs: number;
  failure: Error | undefined;
  logger: Logger;
  now: number;
  random: () => number;
}): DeliveryRecord {
  const { slot, record, attempt, started, durationMs, failure, logger, now } =
    input;
  const details: FailureDetails =
    failure instanceof TransientDeliveryError ||
    failure instanceof PermanentDeliveryError
      ? failure.details
      : {};
  const permanent = failure instanceof PermanentDeliveryError;
  const outcome: AttemptRecord["outcome"] = !failure
    ? "delivered"
    : permanent
      ? "permanent"
      : "transient";

  const entry: AttemptRecord = { attempt, at: started, durationMs, outcome };
  if (failure) entry.message = failure.message;
  if (details.status !== undefined) entry.status = details.status;

  const updated: DeliveryRecord = {
    ...record,
    attempts: attempt,
    updatedAt: now,
    history: [...record.history, entry].slice(-HISTORY_LIMIT),
  };

  if (!failure) {
    slot.breaker.succeeded(logger);
    logger.info({ durationMs }, "delivered");
    return { ...updated, status: "delivered", deliveredAt: now };
  }

  updated.lastError = { at: now, message: failure.message };
  if (details.status !== undefined) updated.lastError.status = details.status;
  if (details.bodyExcerpt) updated.lastError.bodyExcerpt = details.bodyExcerpt;

  if (permanent) {
    slot.breaker.succeeded(logger);
    logger.error(
      { error: loggableError(failure), status: details.status, durationMs },
      "delivery failed permanently; moved to dead letters",
    );
    return { ...updated, status: "dead", reason: failure.message };
  }

  slot.breaker.failed(now, logger);
  const policy = slot.entry.retry;
  if (attempt >= policy.maxAttempts) {
    logger.error(
      { error: loggableError(failure), status: details.status, durationMs },
      `delivery gave up after ${attempt} attempts; moved to dead letters`,
    );
    return {
      ...updated,
      status: "dead",
      reason: `gave up after ${attempt} attempts: ${failure.message}`,
    };
  }

  // A destination's Retry-After wins over the schedule, up to the schedule's own cap.
  const delay =
    details.retryAfterMs === undefined
      ? retryDelay(policy, attempt, input.random)
      : Math.min(details.retryAfterMs, policy.maxDelayMs);
  const nextAttemptAt = now + delay;
  logger.warn(
    {
      error: loggableError(failure),
      status: details.status,
      durationMs,
      retryInMs: delay,
    },
    "delivery attempt failed; will retry",
  );
  return { ...updated, nextAttemptAt };
}

/**
 * Builds the log form of an attempt's error. Delivery errors lose their `details`, because a
 * response body excerpt can contain guest data. Other errors keep their stack, because they
 * point at a bug in an adapter.
 */
export function loggableError(error: Error): {
  type: string;
  message: string;
  stack?: string;
} {
  const delivery =
    error instanceof TransientDeliveryError ||
    error instanceof PermanentDeliveryError;
  return delivery || !error.stack
    ? { type: error.name, message: error.message }
    : { type: error.name, message: error.message, stack: error.stack };
}

export function deadLetterEvent(
  record: DeliveryRecord,
  failed: BridgeEvent | undefined,
  restaurant: RestaurantConfig,
  now: number,
): DeadLetterEvent {
  const detectedAt = new Date(now).toISOString();
  return {
    // The time makes each dead-lettering its own event: after an operator retry the attempt
    // count starts again, and a reused id would reuse the alert's idempotency key.
    id: stableId(
      "evt",
      "dead-letter",
      record.id,
      String(record.attempts),
      String(record.updatedAt),
    ),
    type: "delivery.dead_lettered",
    restaurantId: record.restaurantId,
    orderId: record.orderId,
    occurredAt: detectedAt,
    detectedAt,
    detectedBusinessDate: businessDateOf(
      now,
      restaurant.timeZone,
      restaurant.businessDayCutoffHour,
    ),
    change: {
      deliveryId: record.id,
      adapter: record.adapter,
      eventId: record.eventId,
      eventType: record.eventType,
      orderNumberToday:
        failed && "order" in failed ? failed.order.orderNumberToday : null,
      tableName:
        failed && "order" in failed ? (failed.order.table?.name ?? null) : null,
      attempts: record.attempts,
      reason: record.reason ?? "unknown",
    },
  };
}
