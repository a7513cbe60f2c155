import type { Logger } from "pino";
import type * as yup from "yup";

import type { AdapterEntry, RestaurantConfig } from "../config/schema.ts";
import type { BridgeEvent, EventType } from "../orders/events.ts";

/** Milliseconds since the epoch; injected so tests can move time without sleeping. */
export interface Clock {
  now(): number;
}

/**
 * Durable key-value state an adapter keeps per order, such as a Slack thread's `ts` or a
 * loyalty ledger. Values are written through the store's journal before `set` resolves.
 */
export interface AdapterState {
  get<T>(orderId: string): Promise<T | undefined>;
  set<T>(orderId: string, value: T): Promise<void>;
}

/** Context the engine gives an adapter for one attempt of one delivery. */
export interface DeliveryContext {
  /** The same across every retry and replay of this delivery; send it as `Idempotency-Key`. */
  idempotencyKey: string;
  deliveryId: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborted when the attempt's time limit passes or the service stops. */
  signal: AbortSignal;
  timeoutMs: number;
  logger: Logger;
  clock: Clock;
}

/** Services an adapter instance receives when it is created. */
export interface AdapterDeps {
  restaurant: RestaurantConfig;
  entry: AdapterEntry;
  logger: Logger;
  clock: Clock;
  dataDir: string;
  state: AdapterState;
}

/**
 * One configured destination. `handle` resolves when the event has landed, throws
 * `TransientDeliveryError` for a failure worth retrying and `PermanentDeliveryError` for one
 * that is not. Any other thrown error counts as transient.
 */
export interface Adapter {
  readonly type: string;
  handle(event: BridgeEvent, context: DeliveryContext): Promise<void>;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

/** An adapter type: its config schema, its default subscription and how to build one. */
export interface AdapterFactory<Options = unknown> {
  readonly type: string;
  /** Checks the `options` object of a config entry of this type. */
  readonly optionsSchema: yup.Schema<Options>;
  /** Event types delivered when the config entry names none. */
  readonly defaultEvents: readonly EventType[];
  /** Orders delivered in parallel when the config entry sets no `concurrency`. Default 4. */
  readonly defaultConcurrency?: number;
  /**
   * Checks rules that span the entry and its checked options, such as a personal field the
   * options send that `personalData` must allow. Returns problems with paths inside the entry.
   */
  checkEntry?(
    entry: AdapterEntry,
    options: Options,
  ): { path: string; message: string }[];
  create(options: Options, deps: AdapterDeps): Adapter;
}

/** Adapter types by name. */
// Each factory checks its own options type, so the registry contains factories of several.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AdapterRegistry = ReadonlyMap<string, AdapterFactory<any>>;
