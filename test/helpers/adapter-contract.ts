import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

import type {
  AdapterFactory,
  AdapterState,
  DeliveryContext,
} from "../../src/delivery/contract.ts";
import {
  PermanentDeliveryError,
  TransientDeliveryError,
} from "../../src/delivery/errors.ts";
import { EVENT_TYPES, type BridgeEvent } from "../../src/orders/events.ts";
import { redactOrder } from "../../src/orders/model.ts";
import { silentLogger } from "../../src/logger.ts";
import {
  demoRestaurant,
  eventsOf,
  lifecycleSnapshots,
} from "./sample-events.ts";

/** A destination under test control: what it received, and how it responds next. */
export interface ContractDestination {
  /** Every request body or line the destination received, as text. */
  received(): Promise<string[]>;
  /** Makes the next deliveries fail: `transient` (for example 503) or `permanent` (for example 400). */
  fail(kind: "transient" | "permanent" | null): void;
  close(): Promise<void>;
}

/** What an adapter's test file hands the shared contract suite. */
export interface ContractFixture<Options> {
  factory: AdapterFactory<Options>;
  /** Starts a destination and returns adapter options that point at it. */
  setup(
    dataDir: string,
  ): Promise<{ options: unknown; destination: ContractDestination }>;
  /** False for destinations that have no permanent failure, such as a local file. */
  hasPermanentFailures: boolean;
  /** An event this adapter type handles by default and sends on to its destination. */
  event?: () => BridgeEvent;
}

/** Durable-state stand-in for contract runs: a map, because the contract does not test the store. */
export function memoryState(): AdapterState {
  const values = new Map<string, unknown>();
  return {
    async get<T>(orderId: string) {
      return values.get(orderId) as T | undefined;
    },
    async set<T>(orderId: string, value: T) {
      values.set(orderId, value);
    },
  };
}

/** Builds a delivery context for calling `handle` directly. */
export function deliveryContext(
  overrides: Partial<DeliveryContext> = {},
): DeliveryContext {
  return {
    idempotencyKey: "dlv_contract_key",
    deliveryId: "dlv_contract_key",
    attempt: 1,
    signal: new AbortController().signal,
    timeoutMs: 5_000,
    logger: silentLogger(),
    clock: { now: () => Date.now() },
    ...overrides,
  };
}

/** The guest's personal values in the sample order, which no adapter may send unasked. */
export const SAMPLE_PERSONAL_VALUES = [
  "guest@example.com",
  "5555550100",
  "Diner",
  "Sam Diner",
  "0077",
  "fp_sample0000001",
  "cus_sample000001",
];

/**
 * The contract every adapter passes: a valid config schema and subscription, delivery of an
 * event, transient and permanent failures reported as their error types, and no personal
 * data sent without the config asking for it.
 */
export function describeAdapterContract<Options>(
  fixture: ContractFixture<Options>,
): void {
  const { factory } = fixture;
  const restaurant = demoRestaurant();
  const sampleEvent = () =>
    fixture.event?.() ??
    (() => {
      const created = eventsOf(lifecycleSnapshots()).find(
        (event) => event.type === "order.created",
      )!;
      return { ...created, order: redactOrder(created.order, []) };
    })();

  describe(`adapter contract: ${factory.type}`, () => {
    const withAdapter = async (
      run: (input: {
        adapter: ReturnType<AdapterFactory<Options>["create"]>;
        destination: ContractDestination;
      }) => Promise<void>,
    ) => {
      const dataDir = await mkdtemp(
        join(tmpdir(), `bbot-contract-${factory.type}-`),
      );
      const { options, destination } = await fixture.setup(dataDir);
      const checked = factory.optionsSchema.validateSync(options);
      const adapter = factory.create(checked, {
        restaurant,
        entry: {
          name: factory.type,
          type: factory.type,
          personalData: [],
          concurrency: 1,
          timeoutMs: 5_000,
          enabled: true,
          options: {},
          retry: {
            maxAttempts: 3,
            initialDelayMs: 10,
            maxDelayMs: 100,
            jitter: 0,
          },
          breaker: {
            failureThreshold: 3,
            cooldownMs: 100,
            maxCooldownMs: 1000,
          },
        },
        logger: silentLogger(),
        clock: { now: () => Date.now() },
        dataDir,
        state: memoryState(),
      });
      try {
        await adapter.start?.();
        await run({ adapter, destination });
      } finally {
        await adapter.stop?.();
        await destination.close();
        await rm(dataDir, { recursive: true, force: true });
      }
    };

    it("declares a type and known default events", () => {
      assert.match(factory.type, /^[a-z][a-z0-9-]*$/);
      assert.ok(factory.defaultEvents.length > 0);
      for (const type of factory.defaultEvents)
        assert.ok(EVENT_TYPES.includes(type), `unknown event type ${type}`);
    });

    it("rejects options of the wrong shape", () => {
      assert.throws(() => factory.optionsSchema.validateSync("not an object"));
    });

    it("delivers an event to its destination", async () => {
      await withAdapter(async ({ adapter, destination }) => {
        await adapter.handle(sampleEvent(), deliveryContext());
        const received = await destination.received();
        assert.ok(received.length >= 1, "the destination received nothing");
      });
    });

    it("reports a transient failure as TransientDeliveryError", async () => {
      await withAdapter(async ({ adapter, destination }) => {
        destination.fail("transient");
        await assert.rejects(
          adapter.handle(sampleEvent(), deliveryContext()),
          TransientDeliveryError,
        );
      });
    });

    if (fixture.hasPermanentFailures) {
      it("reports a permanent failure as PermanentDeliveryError", async () => {
        await withAdapter(async ({ adapter, destination }) => {
          destination.fail("permanent");
          await assert.rejects(
            adapter.handle(sampleEvent(), deliveryContext()),
            PermanentDeliveryError,
          );
        });
      });
    }

    it("sends no personal data the config did not ask for", async () => {
      await withAdapter(async ({ adapter, destination }) => {
        await adapter.handle(sampleEvent(), deliveryContext());
        const text = (await destination.received()).join("\n");
        for (const value of SAMPLE_PERSONAL_VALUES)
          assert.ok(!text.includes(value), `destination received ${value}`);
      });
    });
  });
}
