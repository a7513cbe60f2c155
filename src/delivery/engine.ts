import type { Logger } from "pino";

import type { AdapterEntry, RestaurantConfig } from "../config/schema.ts";
import { eventPartitionOf, type DeliveryPlanner } from "../orders/ingest.ts";
import { subscribes, type BridgeEvent } from "../orders/events.ts";
import { redactOrder } from "../orders/model.ts";
import { BUCKETS } from "../store/keys.ts";
import type { Store, StoreOp } from "../store/store.ts";
import { CircuitBreaker, retryDelay } from "./backoff.ts";
import type { Adapter, Clock } from "./contract.ts";
import { PermanentDeliveryError, TransientDeliveryError } from "./errors.ts";
import { DeliveryOperations } from "./operations.ts";
import { deadLetterEvent, recordOutcome } from "./outcome.ts";
import { OutboxIndex, slotKey } from "./outbox-index.ts";
import {
  newDelivery,
  saveDeliveryOps,
  type AttemptRecord,
  type DeliveryRecord,
} from "./records.ts";

/** A configured adapter of one restaurant, with its own breaker and concurrency count. */
export interface AdapterSlot {
  key: string;
  restaurant: RestaurantConfig;
  entry: AdapterEntry;
  adapter: Adapter;
  events: readonly string[];
  /** Orders delivered in parallel. */
  concurrency: number;
  /** Fed with the logger of the delivery whose outcome changes its state. */
  breaker: CircuitBreaker<Logger>;
  active: number;
}

export interface DeliveryEngineOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  pollIntervalMs: number;
  random?: () => number;
  /** Called after each attempt, for metrics. */
  onAttempt?: (
    slot: AdapterSlot,
    outcome: AttemptRecord["outcome"],
    durationMs: number,
  ) => void;
}

/** Ends an attempt that outlives its time limit even when the adapter ignores its abort signal. */
class AttemptTimeout extends TransientDeliveryError {}

/**
 * The delivery engine. It plans one outbox row per event and subscribed adapter, and runs due
 * deliveries one at a time per order and adapter, in event order. Transient failures are
 * retried with backoff, permanent ones become dead letters, and a breaker pauses a failing
 * destination.
 */
export class DeliveryEngine implements DeliveryPlanner {
  readonly slots = new Map<string, AdapterSlot>();
  /** Pending and dead deliveries: the whole outbox, always in memory. */
  readonly open = new OutboxIndex();
  /** Per adapter, chains found due while the adapter had no free slot. */
  private readonly waiting = new Map<string, Set<string>>();
  /** Deliveries an operator is changing, which the worker must not start. */
  private readonly held = new Set<string>();
  readonly operations: DeliveryOperations;
  private readonly running = new Map<
    string,
    { controller: AbortController; done: Promise<void> }
  >();
  private timer: NodeJS.Timeout | undefined;
  private tickScheduled = false;
  private stopping = false;
  private readonly random: () => number;

  constructor(private readonly options: DeliveryEngineOptions) {
    this.random = options.random ?? Math.random;
    this.operations = new DeliveryOperations(
      this,
      options.store,
      options.clock,
    );
  }

  /** Registers a configured adapter; call before `start`. */
  addAdapter(
    restaurant: RestaurantConfig,
    entry: AdapterEntry,
    adapter: Adapter,
    defaultEvents: readonly string[],
    defaultConcurrency = 4,
  ): void {
    const key = slotKey(restaurant.id, entry.name);
    const logger = this.options.logger.child({
      restaurantId: restaurant.id,
      adapter: entry.name,
    });
    const breaker = new CircuitBreaker<Logger>(
      entry.breaker,
      (from, to, failures, deliveryLogger) => {
        (deliveryLogger ?? logger).warn(
          { from, to, consecutiveFailures: failures },
          `circuit breaker ${from} -> ${to}`,
        );
      },
    );
    this.slots.set(key, {
      key,
      restaurant,
      entry,
      adapter,
      events: entry.events ?? defaultEvents,
      concurrency: entry.concurrency ?? defaultConcurrency,
      breaker,
      active: 0,
    });
  }

  /** Loads the outbox, starts the adapters and the worker loop. */
  async start(): Promise<void> {
    for (let bucket = 0; bucket < BUCKETS; bucket += 1) {
      const partition = bucket.toString(16).padStart(2, "0");
      for (const [, record] of await this.options.store.rows<DeliveryRecord>(
        "outbox",
        partition,
      )) {
        this.open.set(record);
      }
    }
    for (const slot of this.slots.values()) await slot.adapter.start?.();

    this.timer = setInterval(
      () => this.tick(true),
      this.options.pollIntervalMs,
    );
    this.timer.unref();
    this.options.logger.info(
      { open: this.open.size, adapters: this.slots.size },
      "delivery engine started",
    );
    this.schedule();
  }

  /**
   * Stops taking new attempts, waits for running ones up to `deadlineMs`, aborts the rest
   * (they stay pending and run again after a restart) and stops the adapters.
   */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);

    const running = [...this.running.values()];
    const deadline = new Promise<void>((resolve) =>
      setTimeout(resolve, deadlineMs).unref(),
    );
    await Promise.race([
      Promise.allSettled(running.map((item) => item.done)),
      deadline,
    ]);
    for (const item of this.running.values())
      item.controller.abort(new Error("the service is stopping"));
    await Promise.allSettled(
      [...this.running.values()].map((item) => item.done),
    );

    for (const slot of this.slots.values()) await slot.adapter.stop?.();
  }

  /** Plans one delivery per subscribed, enabled adapter of each event's restaurant. */
  plan(
    events: readonly BridgeEvent[],
    now: number,
    exceptAdapter?: string,
  ): StoreOp[] {
    const ops: StoreOp[] = [];
    for (const event of events) {
      for (const slot of this.slots.values()) {
        if (slot.restaurant.id !== event.restaurantId || !slot.entry.enabled)
          continue;
        if (
          !subscribes(slot.events, event.type) ||
          slot.entry.name === exceptAdapter
        )
          continue;
        const record = newDelivery({
          eventId: event.id,
          eventPartition: eventPartitionOf(event),
          eventType: event.type,
          restaurantId: event.restaurantId,
          adapter: slot.entry.name,
          orderId: event.orderId,
          sequence: "sequence" in event ? event.sequence : 0,
          now,
        });
        ops.push(...saveDeliveryOps(record));
      }
    }
    return ops;
  }

  /** Takes note of committed outbox rows and wakes the worker. */
  committed(ops: readonly StoreOp[]): void {
    for (const op of ops) {
      if (op.table !== "outbox") continue;
      if (op.value === undefined) this.open.delete(op.key);
      else this.open.set(op.value as DeliveryRecord);
    }
    this.schedule();
  }

  /**
   * Stores events produced outside order ingest (dead letters, journal entries) with their
   * deliveries in one durable write.
   */
  async publish(
    events: readonly BridgeEvent[],
    exceptAdapter?: string,
    extraOps: readonly StoreOp[] = [],
  ): Promise<void> {
    const now = this.options.clock.now();
    const ops: StoreOp[] = [
      ...extraOps,
      ...events.map((event) => ({
        table: "events" as const,
        partition: eventPartitionOf(event),
        key: event.id,
        value: event,
      })),
      ...this.plan(events, now, exceptAdapter),
    ];
    await this.options.store.commit(ops);
    this.committed(ops);
  }

  /** Attempts currently running. */
  get runningCount(): number {
    return this.running.size;
  }

  /** Returns the id of the dead delivery that blocks a pending one in its order's chain. */
  heldBy(record: DeliveryRecord): string | undefined {
    if (record.status !== "pending") return undefined;
    const chain = this.open.chain(
      slotKey(record.restaurantId, record.adapter),
      record.orderId ?? record.id,
    );
    const head = chain ? chainHead(chain) : undefined;
    return head && head.status === "dead" && head.id !== record.id
      ? head.id
      : undefined;
  }

  /**
   * Keeps the worker from starting a delivery while an operator's change to it is written.
   * Returns false, holding nothing, when an attempt of it is already running.
   */
  hold(deliveryId: string): boolean {
    if (this.running.has(deliveryId)) return false;
    this.held.add(deliveryId);
    return true;
  }

  /** Ends a hold and lets the worker look at the delivery's order again. */
  release(deliveryId: string): void {
    this.held.delete(deliveryId);
    const record = this.open.get(deliveryId);
    if (record) this.open.touchRecord(record);
    this.schedule();
  }

  /** Tells whether an attempt of this delivery is running now. */
  isRunning(deliveryId: string): boolean {
    return this.running.has(deliveryId);
  }

  /** Runs the worker once soon; many calls in one turn of the event loop run it once. */
  schedule(): void {
    if (this.tickScheduled || this.stopping) return;
    this.tickScheduled = true;
    setImmediate(() => {
      this.tickScheduled = false;
      this.tick(false);
    });
  }

  /**
   * Starts every due delivery that ordering, concurrency and breakers allow. A full pass looks
   * at every chain (the poll timer runs one, so retries come due). A wake-up after a commit
   * only looks at the chains changed since the last pass and those that waited for a free
   * slot, and stops at the first adapter slot limit, so its cost does not grow with a backlog.
   */
  tick(full = true): void {
    if (this.stopping) return;
    const now = this.options.clock.now();
    const touched = this.open.takeTouched();

    for (const [key, slot] of this.slots) {
      let waiting = this.waiting.get(key);
      if (!waiting) this.waiting.set(key, (waiting = new Set()));
      for (const chainKey of touched.get(key) ?? []) waiting.add(chainKey);

      if (full) this.startDue(slot, this.open.chainsOf(key), waiting, now);
      else this.startWaiting(slot, waiting, now);
    }
  }

  /** Looks at every chain of an adapter; due ones that find no free slot wait. */
  private startDue(
    slot: AdapterSlot,
    chains: Iterable<[string, DeliveryRecord[]]>,
    waiting: Set<string>,
    now: number,
  ): void {
    for (const [chainKey, chain] of chains) {
      if (!this.isChainDue(chain, now)) {
        waiting.delete(chainKey);
      } else if (this.hasFreeSlot(slot, now)) {
        waiting.delete(chainKey);
        this.startAttempt(slot, chainHead(chain)!);
      } else {
        waiting.add(chainKey);
      }
    }
  }

  /** Starts waiting chains, oldest first, until the adapter has no free slot. */
  private startWaiting(
    slot: AdapterSlot,
    waiting: Set<string>,
    now: number,
  ): void {
    for (const chainKey of waiting) {
      if (!this.hasFreeSlot(slot, now)) return;
      waiting.delete(chainKey);
      const chain = this.open.chain(slot.key, chainKey);
      if (chain && this.isChainDue(chain, now))
        this.startAttempt(slot, chainHead(chain)!);
    }
  }

  private hasFreeSlot(slot: AdapterSlot, now: number): boolean {
    return slot.active < slot.concurrency && slot.breaker.allows(now);
  }

  /**
   * Tells whether a chain's head may start now. Only a chain's head may run, which keeps each
   * order's events in order per adapter. A dead head blocks its order's later events until an
   * operator retries or discards it, but dead-letter alerts (sequence 0) never block a chain.
   * A running record anywhere in the chain blocks it, because a record that sorts first can
   * join a chain while a later one runs (an alert, an operator retry).
   */
  private isChainDue(chain: readonly DeliveryRecord[], now: number): boolean {
    if (chain.some((record) => this.running.has(record.id))) return false;
    const head = chainHead(chain);
    return (
      head !== undefined &&
      !this.held.has(head.id) &&
      head.status === "pending" &&
      head.nextAttemptAt <= now
    );
  }

  private startAttempt(slot: AdapterSlot, record: DeliveryRecord): void {
    const controller = new AbortController();
    const logger = this.options.logger.child({
      deliveryId: record.id,
      eventId: record.eventId,
      eventType: record.eventType,
      orderId: record.orderId,
      restaurantId: record.restaurantId,
      adapter: record.adapter,
      attempt: record.attempts + 1,
    });
    slot.active += 1;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      slot.active -= 1;
      this.schedule();
    };
    slot.breaker.started(logger);
    const done = this.attempt(slot, record, controller, logger, release)
      .catch((error: Error) => {
        this.options.logger.error(
          { err: error, deliveryId: record.id },
          "delivery bookkeeping failed; the delivery waits before its next attempt",
        );
        this.postpone(slot, record.id);
      })
      .finally(() => {
        release();
        this.running.delete(record.id);
        this.open.touchRecord(record);
        this.schedule();
      });
    this.running.set(record.id, { controller, done });
  }

  /**
   * Moves a delivery's next attempt back by its retry delay, in memory only, after its
   * outcome could not be written: otherwise it would run again at once, in a loop, for as
   * long as the store fails.
   */
  private postpone(slot: AdapterSlot, deliveryId: string): void {
    const current = this.open.get(deliveryId);
    if (!current || current.status !== "pending") return;
    const delay = retryDelay(
      slot.entry.retry,
      current.attempts + 1,
      this.random,
    );
    this.open.set({
      ...current,
      nextAttemptAt: this.options.clock.now() + delay,
    });
  }

  private async attempt(
    slot: AdapterSlot,
    record: DeliveryRecord,
    controller: AbortController,
    logger: Logger,
    release: () => void,
  ): Promise<void> {
    const attempt = record.attempts + 1;
    const started = this.options.clock.now();
    const startedAt = performance.now();

    let failure: Error | undefined;
    let event: BridgeEvent | undefined;
    try {
      event = await this.loadEvent(record);
      await this.runWithTimeout(
        slot,
        event,
        record,
        attempt,
        controller,
        logger,
      );
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }

    if (
      controller.signal.aborted &&
      this.stopping &&
      !(failure instanceof AttemptTimeout)
    ) {
      // Cut short by shutdown: the attempt does not count and the delivery stays pending.
      slot.breaker.settled();
      logger.info("attempt cancelled by shutdown; it runs again after restart");
      return;
    }

    const durationMs = Math.round(performance.now() - startedAt);
    const updated = recordOutcome({
      slot,
      record,
      attempt,
      started,
      durationMs,
      failure,
      logger,
      now: this.options.clock.now(),
      random: this.random,
    });
    this.options.onAttempt?.(slot, updated.history.at(-1)!.outcome, durationMs);
    // The destination is done with this attempt, so its slot is free while the outcome is
    // written. The delivery stays running, which blocks its order's chain, until the write ends.
    release();

    const ops = saveDeliveryOps(updated);
    if (
      updated.status === "dead" &&
      record.eventType !== "delivery.dead_lettered"
    ) {
      const alert = deadLetterEvent(
        updated,
        event,
        slot.restaurant,
        this.options.clock.now(),
      );
      await this.publish([alert], record.adapter, ops);
    } else {
      await this.options.store.commit(ops);
      this.committed(ops);
    }
  }

  private async loadEvent(record: DeliveryRecord): Promise<BridgeEvent> {
    const event = await this.options.store.get<BridgeEvent>(
      "events",
      record.eventPartition,
      record.eventId,
    );
    if (!event) {
      throw new PermanentDeliveryError(
        `event ${record.eventId} is not in the store (partition ${record.eventPartition})`,
      );
    }
    return event;
  }

  private async runWithTimeout(
    slot: AdapterSlot,
    event: BridgeEvent,
    record: DeliveryRecord,
    attempt: number,
    controller: AbortController,
    logger: Logger,
  ): Promise<void> {
    const visible: BridgeEvent =
      "order" in event
        ? { ...event, order: redactOrder(event.order, slot.entry.personalData) }
        : event;

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const error = new AttemptTimeout(
          `attempt timed out after ${slot.entry.timeoutMs} ms`,
        );
        controller.abort(error);
        reject(error);
      }, slot.entry.timeoutMs);
    });
    try {
      await Promise.race([
        slot.adapter.handle(visible, {
          idempotencyKey: record.idempotencyKey,
          deliveryId: record.id,
          attempt,
          signal: controller.signal,
          timeoutMs: slot.entry.timeoutMs,
          logger,
          clock: this.options.clock,
        }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Returns the record of a chain that runs next: the first one, passing over dead records
 * without a sequence (dead-letter alerts), because those belong to no order's event order.
 */
function chainHead(
  chain: readonly DeliveryRecord[],
): DeliveryRecord | undefined {
  return chain.find(
    (record) => !(record.status === "dead" && record.sequence === 0),
  );
}
