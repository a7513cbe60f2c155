import { randomBytes } from "node:crypto";
import * as yup from "yup";

import type { AdapterRegistry } from "../delivery/contract.ts";
import { FakeDestination, type FakeResponder } from "./fake-destination.ts";

/** A destination the demo configures when the registry has its adapter type. */
export interface DemoDestination {
  /** The adapter entry's name in the demo config. */
  name: string;
  type: string;
  /** The fake HTTP API it posts to; absent for file destinations. */
  fake?: FakeDestination;
  /** The adapter entry, as it goes into the config. */
  entry: Record<string, unknown>;
}

/** A third-party type the demo can fake, with adapter options pointing at the fake. */
interface FakeKind {
  type: string;
  name: string;
  respond: FakeResponder;
  entry(url: string): Record<string, unknown>;
}

let slackTs = 0;

/**
 * The fakes, in the order the demo picks the one that fails for a while. Each entry's options
 * follow the adapter's own schema. The demo checks them against it and skips a type whose
 * schema rejects them, so a changed schema shows up as a skipped destination, not a crash.
 */
const FAKE_KINDS: FakeKind[] = [
  {
    type: "pos",
    name: "kitchen-pos",
    respond: (request) => ({
      status: 201,
      body: { id: `pos-${request.idempotencyKey ?? "none"}` },
    }),
    entry: (url) => ({
      options: {
        url: `${url}/orders`,
        secrets: [`whsec_${randomBytes(32).toString("base64")}`],
        // The sample order's one menu item (Ceviche) and its one mod.
        items: { "5100d13b-05dc-4908-ae66-c2d9d63e704d": "1001" },
        mods: { "bc7ba7fd-55cd-4f03-8bfb-af8bbf63b9bf": "2001" },
      },
    }),
  },
  {
    type: "slack",
    name: "floor-slack",
    // Slack's Web API returns ok with the message's channel and ts. Incoming webhooks only need a 2xx.
    respond: () => ({
      status: 200,
      body: { ok: true, channel: "C0DEMO", ts: `1700000000.${++slackTs}` },
    }),
    entry: (url) => ({
      options: {
        mode: "webhook",
        minIntervalMs: 0,
        channels: [{ name: "orders", webhookUrl: `${url}/services/demo` }],
      },
    }),
  },
  {
    type: "loyalty",
    name: "points",
    respond: () => ({ status: 201, body: { status: "recorded" } }),
    entry: (url) => ({
      personalData: ["phone"],
      options: {
        mode: "generic",
        baseUrl: url,
        identifyBy: "phone",
        defaultCountryCode: "1",
      },
    }),
  },
  {
    type: "accounting",
    name: "books",
    respond: () => ({ status: 201, body: { status: "posted" } }),
    // Posts the `export.journal_entry` events that the demo's export run publishes.
    entry: (url) => ({ options: { url: `${url}/journal-entries` } }),
  },
];

/** Retry and breaker settings that let the demo's outage and recovery play out in seconds. */
export const DEMO_RETRY = {
  retry: { maxAttempts: 50, initialDelayMs: 100, maxDelayMs: 800, jitter: 0 },
  breaker: { failureThreshold: 3, cooldownMs: 200, maxCooldownMs: 800 },
};

/** Destinations of the demo: the registered fakeable types, and what was left out and why. */
export interface DemoDestinations {
  destinations: DemoDestination[];
  fakes: FakeDestination[];
  skipped: string[];
}

/**
 * Starts a fake for every registered type the demo can fake and builds its adapter entry.
 * A type missing from the registry, or whose options the adapter's schema rejects, is skipped.
 */
export async function startDemoDestinations(
  registry: AdapterRegistry,
): Promise<DemoDestinations> {
  const destinations: DemoDestination[] = [];
  const fakes: FakeDestination[] = [];
  const skipped: string[] = [];

  for (const kind of FAKE_KINDS) {
    const factory = registry.get(kind.type);
    if (!factory) {
      skipped.push(`${kind.type}: no adapter of this type is registered`);
      continue;
    }

    const fake = new FakeDestination(kind.name, kind.respond);
    await fake.start();
    const entry: Record<string, unknown> = {
      name: kind.name,
      type: kind.type,
      ...DEMO_RETRY,
      ...kind.entry(fake.url),
    };
    try {
      factory.optionsSchema.validateSync(entry["options"], {
        abortEarly: false,
        stripUnknown: false,
      });
    } catch (error) {
      if (!(error instanceof yup.ValidationError)) throw error;
      await fake.close();
      skipped.push(
        `${kind.type}: the adapter rejected the demo's options (${error.errors.join("; ")})`,
      );
      continue;
    }
    fakes.push(fake);
    destinations.push({ name: kind.name, type: kind.type, fake, entry });
  }
  return { destinations, fakes, skipped };
}
