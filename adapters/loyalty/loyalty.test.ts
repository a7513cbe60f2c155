import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import pino from "pino";

import type {
  AdapterState,
  DeliveryContext,
} from "../../src/delivery/contract.ts";
import { TransientDeliveryError } from "../../src/delivery/errors.ts";
import type { OrderEvent } from "../../src/orders/events.ts";
import { redactOrder, type PersonalField } from "../../src/orders/model.ts";
import {
  describeAdapterContract,
  deliveryContext,
  memoryState,
  SAMPLE_PERSONAL_VALUES,
} from "../../test/helpers/adapter-contract.ts";
import {
  demoRestaurant,
  sampleEvents,
} from "../../test/helpers/sample-events.ts";
import { FakeLoyaltyProvider } from "./fake-provider.ts";
import { normalizeEmail, toE164 } from "./identity.ts";
import { loyaltyAdapter, type LoyaltyLedger } from "./index.ts";

// The contract runs with `personalData: []`, and a loyalty request without a guest identifier
// is never sent, so the default sample event (guest removed) would only test the skip. The
// fixture instead hands over what the engine's own redaction leaves for an entry that lists
// `guestId`, and identifies the guest by it. The "no personal data" check still applies in
// full: the e-mail, phone, names and card data must not reach the provider.
describeAdapterContract({
  factory: loyaltyAdapter,
  hasPermanentFailures: true,
  event: () => engineView(created(), ["guestId"]),
  async setup() {
    const provider = await new FakeLoyaltyProvider().start();
    return {
      options: {
        baseUrl: provider.url,
        identifyBy: "guestId",
        creditOn: "created",
      },
      destination: {
        async received() {
          return provider.pointRequests().map((request) => request.raw);
        },
        fail(kind) {
          provider.failNext(
            kind === null
              ? null
              : {
                  kind: "status",
                  status: kind === "transient" ? 503 : 400,
                  count: 100,
                },
          );
        },
        close: () => provider.close(),
      },
    };
  },
});

const ORDER_ID = () => created().orderId;

function created(): OrderEvent {
  return sampleEvents("order.created")[0]!;
}

function partialRefund(): OrderEvent<"order.refunded"> {
  return sampleEvents("order.refunded")[0]!;
}

function closed(): OrderEvent {
  return sampleEvents("order.closed")[0]!;
}

/** Builds a second refund after the sample's partial one that brings the refunded pretax to `cumulativePretaxCents`. */
function laterRefund(
  id: string,
  cumulativePretaxCents: number,
  sequenceOffset = 10,
): OrderEvent<"order.refunded"> {
  const refund = partialRefund();
  return {
    ...refund,
    id,
    sequence: refund.sequence + sequenceOffset,
    revision: `2021-12-09T00:00:0${sequenceOffset % 10}.000000Z`,
    change: {
      ...refund.change,
      cumulative: {
        ...refund.change.cumulative,
        pretaxCents: cumulativePretaxCents,
      },
    },
  };
}

/** Returns the event as the engine hands it to an entry whose `personalData` lists `allowed`. */
function engineView<T extends OrderEvent>(
  event: T,
  allowed: PersonalField[],
): T {
  return { ...event, order: redactOrder(event.order, allowed) };
}

interface Harness {
  adapter: ReturnType<typeof loyaltyAdapter.create>;
  state: AdapterState;
  logs: string[];
  ledger(): Promise<LoyaltyLedger | undefined>;
  context(key: string): DeliveryContext;
}

function harness(
  options: Record<string, unknown>,
  personalData: PersonalField[] = ["phone"],
): Harness {
  const state = memoryState();
  const logs: string[] = [];
  const logger = pino(
    { level: "debug" },
    { write: (line: string) => void logs.push(line) },
  );
  const checked = loyaltyAdapter.optionsSchema.validateSync(options);
  const adapter = loyaltyAdapter.create(checked, {
    restaurant: demoRestaurant(),
    entry: { name: "loyalty", type: "loyalty", personalData } as never,
    logger,
    clock: { now: () => Date.now() },
    dataDir: "/nonexistent",
    state,
  });
  return {
    adapter,
    state,
    logs,
    ledger: () => state.get<LoyaltyLedger>(ORDER_ID()),
    context: (key) =>
      deliveryContext({ idempotencyKey: key, deliveryId: key, logger }),
  };
}

describe("phone normalization", () => {
  const valid: [string, string | undefined, string][] = [
    ["5555550100", "1", "+15555550100"],
    ["(555) 555-0100", "1", "+15555550100"],
    ["555.555.0100", "1", "+15555550100"],
    ["1 555 555 0100", "1", "+15555550100"],
    ["+1 (555) 555-0100", undefined, "+15555550100"],
    ["+44 20 7946 0958", "1", "+442079460958"],
    ["0044 20 7946 0958", undefined, "+442079460958"],
    ["020 7946 0958", "44", "+442079460958"],
  ];
  for (const [raw, country, expected] of valid) {
    it(`normalizes ${raw} with country code ${country ?? "none"}`, () => {
      assert.equal(toE164(raw, country), expected);
    });
  }

  const garbage: [string, string | undefined][] = [
    ["call me", "1"],
    ["555-CALL-NOW", "1"],
    ["12", "1"],
    ["", "1"],
    ["+", "1"],
    ["++15555550100", "1"],
    ["555+5550100", "1"],
    ["+1 555 555 0100 ext 2", "1"],
    ["0555550100", "1"],
    ["55555501000", "1"],
    ["5555550100", undefined],
    ["+0123456789", "1"],
    ["+1234567890123456", "1"],
  ];
  for (const [raw, country] of garbage) {
    it(`rejects ${JSON.stringify(raw)}`, () => {
      assert.equal(toE164(raw, country), null);
    });
  }

  it("normalizes and checks e-mail addresses", () => {
    assert.equal(normalizeEmail("  Guest@Example.COM "), "guest@example.com");
    assert.equal(normalizeEmail("not an address"), null);
    assert.equal(normalizeEmail("a@b"), null);
  });
});

/** Matches a yup error for a field required in square mode. */
function isRequiredAt(path: string) {
  return (error: unknown) => {
    const { path: found, message } = error as {
      path?: string;
      message: string;
    };
    assert.equal(found, path);
    assert.equal(message, "is required in square mode");
    return true;
  };
}

describe("loyalty options", () => {
  const parse = (options: unknown) =>
    loyaltyAdapter.optionsSchema.validateSync(options);

  it("fills defaults", () => {
    const options = parse({ baseUrl: "http://127.0.0.1:9/" });
    assert.equal(options.mode, "generic");
    assert.equal(options.creditOn, "closed");
    assert.equal(options.identifyBy, "phone");
    assert.equal(options.pointsPerUnit, 1);
    assert.equal(options.baseUrl, "http://127.0.0.1:9");
  });

  it("rejects square mode without token or location", () => {
    assert.throws(
      () =>
        parse({
          mode: "square",
          baseUrl: "http://127.0.0.1:9",
          locationId: "L1",
        }),
      isRequiredAt("accessToken"),
    );
    assert.throws(
      () =>
        parse({
          mode: "square",
          baseUrl: "http://127.0.0.1:9",
          accessToken: "t",
        }),
      isRequiredAt("locationId"),
    );
  });

  it("rejects square mode identified by e-mail", () => {
    assert.throws(
      () =>
        parse({
          mode: "square",
          baseUrl: "http://127.0.0.1:9",
          accessToken: "t",
          locationId: "L1",
          identifyBy: "email",
        }),
      /identifyBy must be phone in square mode/,
    );
  });

  it("rejects bad values and unknown keys", () => {
    assert.throws(
      () => parse({ baseUrl: "ftp://example.test" }),
      /http or https URL/,
    );
    assert.throws(
      () => parse({ baseUrl: "http://127.0.0.1:9", pointsPerUnit: 1.5 }),
      /integer/,
    );
    assert.throws(
      () => parse({ baseUrl: "http://127.0.0.1:9", defaultCountryCode: "+1" }),
      /1 to 3 digits/,
    );
    assert.throws(
      () => parse({ baseUrl: "http://127.0.0.1:9", creditOn: "paid" }),
      /closed or created/,
    );
    assert.throws(
      () => parse({ baseUrl: "http://127.0.0.1:9", pointsPer: 2 }),
      /unknown key pointsPer/,
    );
  });
});

describe("loyalty sync, generic mode", () => {
  let provider: FakeLoyaltyProvider;
  before(async () => {
    provider = await new FakeLoyaltyProvider().start();
  });
  after(() => provider.close());
  beforeEach(() => {
    provider.reset();
  });

  const options = (extra: Record<string, unknown> = {}) => ({
    baseUrl: provider.url,
    defaultCountryCode: "1",
    ...extra,
  });

  it("credits net spend on close after an earlier refund", async () => {
    const h = harness(options());
    await h.adapter.handle(
      engineView(partialRefund(), ["phone"]),
      h.context("dlv_refund"),
    );
    assert.equal(
      provider.pointRequests().length,
      0,
      "a refund before the credit sent a request",
    );
    const pending = await h.ledger();
    assert.equal(pending?.credit, null);
    assert.equal(pending?.refunds[0]?.reversedPoints, null);

    await h.adapter.handle(
      engineView(closed(), ["phone"]),
      h.context("dlv_close"),
    );
    const [request] = provider.pointRequests();
    assert.equal(provider.pointRequests().length, 1);
    assert.equal(request!.path, "/transactions");
    assert.equal(request!.headers["idempotency-key"], "dlv_close");
    assert.deepEqual(request!.body.customer, { phone: "+15555550100" });
    // Pretax after the refund is 1194 cents: 11 points at one point per dollar, rounded down.
    assert.equal(request!.body.points, 11);
    assert.equal(request!.body.spendCents, 1194);
    assert.equal(request!.body.operation, "credit");
    assert.equal(
      request!.body.idempotencyKey,
      `bbot-loyalty:${ORDER_ID()}:credit`,
    );

    const ledger = await h.ledger();
    assert.equal(ledger?.credit?.points, 11);
    assert.equal(ledger?.credit?.spendCents, 1194);
    assert.equal(ledger?.credit?.refundBaselineCents, 1194);
    assert.equal(ledger?.reversedPoints, 0);
    assert.equal(ledger?.refunds[0]?.reversedPoints, 0);
  });

  it("ignores created when crediting on close", async () => {
    const h = harness(options());
    await h.adapter.handle(
      engineView(created(), ["phone"]),
      h.context("dlv_created"),
    );
    assert.equal(provider.requests.length, 0);
    assert.equal(await h.ledger(), undefined);
  });

  it("credits once across duplicates and replays", async () => {
    const h = harness(options());
    await h.adapter.handle(
      engineView(closed(), ["phone"]),
      h.context("dlv_close"),
    );
    await h.adapter.handle(
      engineView(closed(), ["phone"]),
      h.context("dlv_close"),
    );
    await h.adapter.handle(
      engineView(closed(), ["phone"]),
      h.context("dlv_close_replayed"),
    );
    assert.equal(provider.pointRequests().length, 1);
    assert.equal((await h.ledger())?.credit?.points, 11);
    assert.equal(provider.balances.get("phone:+15555550100"), 11);
  });

  it("reverses partial then full refund", async () => {
    const h = harness(options({ creditOn: "created" }));
    await h.adapter.handle(
      engineView(created(), ["phone"]),
      h.context("dlv_created"),
    );
    assert.equal((await h.ledger())?.credit?.points, 23);

    await h.adapter.handle(
      engineView(partialRefund(), ["phone"]),
      h.context("dlv_refund_1"),
    );
    // floor(23 * 1194 / 2388) = 11
    assert.equal(provider.pointRequests().at(-1)!.body.points, -11);
    assert.equal(provider.pointRequests().at(-1)!.body.spendCents, 1194);
    assert.equal(
      provider.pointRequests().at(-1)!.body.idempotencyKey,
      `bbot-loyalty:${ORDER_ID()}:reverse:${partialRefund().id}`,
    );

    await h.adapter.handle(
      engineView(partialRefund(), ["phone"]),
      h.context("dlv_refund_1"),
    );
    assert.equal(
      provider.pointRequests().length,
      2,
      "a replayed refund sent a request",
    );

    await h.adapter.handle(
      engineView(laterRefund("evt_full", 2388), ["phone"]),
      h.context("dlv_refund_2"),
    );
    assert.equal(provider.pointRequests().at(-1)!.body.points, -12);

    await h.adapter.handle(
      engineView(laterRefund("evt_more", 2500, 20), ["phone"]),
      h.context("dlv_refund_3"),
    );
    assert.equal(
      provider.pointRequests().length,
      3,
      "a refund beyond the credited spend sent a request",
    );

    const ledger = await h.ledger();
    assert.equal(ledger?.reversedPoints, 23);
    assert.deepEqual(
      ledger?.refunds.map((refund) => refund.reversedPoints),
      [11, 12, 0],
    );
    assert.equal(provider.balances.get("phone:+15555550100"), 0);
  });

  it("applies out-of-order refunds once", async () => {
    const h = harness(options({ creditOn: "created" }));
    await h.adapter.handle(
      engineView(created(), ["phone"]),
      h.context("dlv_created"),
    );
    await h.adapter.handle(
      engineView(laterRefund("evt_full", 2388), ["phone"]),
      h.context("dlv_full"),
    );
    await h.adapter.handle(
      engineView(partialRefund(), ["phone"]),
      h.context("dlv_partial"),
    );
    assert.equal(provider.pointRequests().length, 2);
    assert.equal(provider.pointRequests().at(-1)!.body.points, -23);
    assert.equal((await h.ledger())?.reversedPoints, 23);
  });

  it("settles refund recorded before credit", async () => {
    const h = harness(options({ creditOn: "created" }));
    await h.adapter.handle(
      engineView(partialRefund(), ["phone"]),
      h.context("dlv_refund"),
    );
    assert.equal(provider.pointRequests().length, 0);

    // The created snapshot predates the refund, so its 2388 cents still contain the refunded item.
    await h.adapter.handle(
      engineView(created(), ["phone"]),
      h.context("dlv_created"),
    );
    const [credit, reversal] = provider.pointRequests();
    assert.equal(provider.pointRequests().length, 2);
    assert.equal(credit!.body.points, 23);
    assert.equal(reversal!.body.points, -11);
    assert.equal(reversal!.headers["idempotency-key"], "dlv_created:reverse");
    assert.equal(
      reversal!.body.idempotencyKey,
      `bbot-loyalty:${ORDER_ID()}:reverse:${partialRefund().id}`,
    );

    const ledger = await h.ledger();
    assert.equal(ledger?.credit?.refundBaselineCents, 0);
    assert.equal(ledger?.reversedPoints, 11);
    assert.equal(ledger?.refunds[0]?.reversedPoints, 11);

    await h.adapter.handle(
      engineView(partialRefund(), ["phone"]),
      h.context("dlv_refund"),
    );
    assert.equal(
      provider.pointRequests().length,
      2,
      "the replayed refund reversed again",
    );
  });

  it("computes points with integer rounding down", async () => {
    const h = harness(options({ creditOn: "created", pointsPerUnit: 3 }));
    await h.adapter.handle(
      engineView(created(), ["phone"]),
      h.context("dlv_created"),
    );
    // floor(2388 * 3 / 100) = 71
    assert.equal(provider.pointRequests()[0]!.body.points, 71);
  });

  it("skips an order whose phone the engine redacted", async () => {
    const h = harness(options({ creditOn: "created" }), []);
    await h.adapter.handle(engineView(created(), []), h.context("dlv_created"));
    assert.equal(provider.requests.length, 0);
    assert.equal(await h.ledger(), undefined);
    const skipped = h.logs.find((line) =>
      line.includes("loyalty skipped the event"),
    );
    assert.ok(skipped, "no skip was logged");
    assert.match(skipped!, /no guest phone/);
  });

  it("skips an invalid phone without logging it", async () => {
    const h = harness(options({ creditOn: "created" }));
    const event = created();
    const order = {
      ...event.order,
      guest: { ...event.order.guest!, phone: "call 555-0100 after 6" },
    };
    await h.adapter.handle({ ...event, order }, h.context("dlv_created"));
    assert.equal(provider.requests.length, 0);
    const text = h.logs.join("\n");
    assert.match(text, /not a valid phone number/);
    assert.ok(!text.includes("555-0100"), "the log contains the phone");
  });

  it("skips e-mail when only phone allowed", async () => {
    const h = harness(options({ creditOn: "created", identifyBy: "email" }));
    await h.adapter.handle(
      engineView(created(), ["phone"]),
      h.context("dlv_created"),
    );
    assert.equal(provider.requests.length, 0);
  });

  it("sends only the guest identifier", async () => {
    const h = harness(options({ creditOn: "created" }), [
      "guestId",
      "email",
      "phone",
      "name",
      "firstName",
      "lastName",
      "cardLast4",
    ]);
    await h.adapter.handle(created(), h.context("dlv_created"));
    const raw = provider.pointRequests()[0]!.raw;
    for (const value of SAMPLE_PERSONAL_VALUES.filter(
      (value) => value !== "5555550100",
    ))
      assert.ok(!raw.includes(value), `request contains ${value}`);
    assert.ok(raw.includes("+15555550100"));
    for (const line of h.logs)
      assert.ok(!line.includes("5555550100"), "a log line contains the phone");
  });

  it("credits by e-mail when configured", async () => {
    const h = harness(options({ creditOn: "created", identifyBy: "email" }), [
      "email",
    ]);
    await h.adapter.handle(
      engineView(created(), ["email"]),
      h.context("dlv_created"),
    );
    assert.deepEqual(provider.pointRequests()[0]!.body.customer, {
      email: "guest@example.com",
    });
  });

  it("credits once when a response is lost", async () => {
    const h = harness(options({ creditOn: "created" }));
    provider.failNext({ kind: "apply-then-fail", status: 502, count: 1 });
    await assert.rejects(
      h.adapter.handle(
        engineView(created(), ["phone"]),
        h.context("dlv_created"),
      ),
      TransientDeliveryError,
    );
    assert.equal((await h.ledger())?.credit ?? null, null);

    await h.adapter.handle(
      engineView(created(), ["phone"]),
      h.context("dlv_created"),
    );
    assert.equal(provider.pointRequests().length, 2);
    assert.equal(
      provider.pointRequests()[0]!.body.idempotencyKey,
      provider.pointRequests()[1]!.body.idempotencyKey,
    );
    assert.equal(provider.balances.get("phone:+15555550100"), 23);
    assert.equal((await h.ledger())?.credit?.points, 23);
  });

  it("counts a 409 as delivered", async () => {
    const h = harness(options({ creditOn: "created" }));
    provider.failNext({ kind: "status", status: 409, count: 1 });
    await h.adapter.handle(
      engineView(created(), ["phone"]),
      h.context("dlv_created"),
    );
    assert.equal((await h.ledger())?.credit?.points, 23);
  });

  it("ignores event types it does not use", async () => {
    const h = harness(options());
    await h.adapter.handle(
      engineView(sampleEvents("order.tip_changed")[0]!, ["phone"]),
      h.context("dlv_tip"),
    );
    assert.equal(provider.requests.length, 0);
  });
});

describe("loyalty sync, square mode", () => {
  let provider: FakeLoyaltyProvider;
  before(async () => {
    provider = await new FakeLoyaltyProvider().start();
    provider.accountsByPhone.set("+15555550100", "acct-1");
  });
  after(() => provider.close());
  beforeEach(() => {
    provider.reset();
  });

  const options = () => ({
    mode: "square",
    baseUrl: provider.url,
    accessToken: "sq-test-token",
    locationId: "LOC1",
    defaultCountryCode: "1",
    creditOn: "created",
  });

  it("searches the account and accumulates points", async () => {
    const h = harness(options());
    await h.adapter.handle(
      engineView(created(), ["phone"]),
      h.context("dlv_created"),
    );
    const [search, accumulate] = provider.requests;
    assert.equal(search!.path, "/v2/loyalty/accounts/search");
    assert.deepEqual(search!.body, {
      query: { mappings: [{ phone_number: "+15555550100" }] },
      limit: 1,
    });
    assert.equal(search!.headers.authorization, "Bearer sq-test-token");
    assert.equal(accumulate!.path, "/v2/loyalty/accounts/acct-1/accumulate");
    assert.deepEqual(accumulate!.body, {
      idempotency_key: `bbot-loyalty:${ORDER_ID()}:credit`,
      accumulate_points: { points: 23 },
      location_id: "LOC1",
    });
    assert.equal(accumulate!.headers["idempotency-key"], "dlv_created");
    assert.equal((await h.ledger())?.credit?.accountId, "acct-1");
  });

  it("adjusts with negative points on the credited account", async () => {
    const h = harness(options());
    await h.adapter.handle(
      engineView(created(), ["phone"]),
      h.context("dlv_created"),
    );
    // The refund event arrives without the phone: Square reversals use the stored account id.
    await h.adapter.handle(
      engineView(partialRefund(), []),
      h.context("dlv_refund"),
    );
    const adjust = provider.requests.at(-1)!;
    assert.equal(adjust.path, "/v2/loyalty/accounts/acct-1/adjust");
    assert.deepEqual(adjust.body, {
      idempotency_key: `bbot-loyalty:${ORDER_ID()}:reverse:${partialRefund().id}`,
      adjust_points: { points: -11, reason: `Refund of order ${ORDER_ID()}` },
      allow_negative_balance: false,
    });
    assert.equal(provider.balances.get("acct-1"), 12);
  });

  it("skips a guest without a Square account", async () => {
    const h = harness(options());
    const event = created();
    const order = {
      ...event.order,
      guest: { ...event.order.guest!, phone: "555 555 0199" },
    };
    await h.adapter.handle(
      engineView({ ...event, order }, ["phone"]),
      h.context("dlv_created"),
    );
    assert.equal(provider.pointRequests().length, 0);
    assert.equal(await h.ledger(), undefined);
    assert.ok(h.logs.some((line) => line.includes("no loyalty account")));
  });
});

it("loyalty warns when personalData lacks the identifier", async () => {
  const logs: string[] = [];
  const adapter = loyaltyAdapter.create(
    loyaltyAdapter.optionsSchema.validateSync({
      baseUrl: "http://127.0.0.1:9",
    }),
    {
      restaurant: demoRestaurant(),
      entry: { name: "loyalty", type: "loyalty", personalData: [] } as never,
      logger: pino(
        { level: "info" },
        { write: (line: string) => void logs.push(line) },
      ),
      clock: { now: () => Date.now() },
      dataDir: "/nonexistent",
      state: memoryState(),
    },
  );
  await adapter.start?.();
  assert.ok(logs.some((line) => line.includes("does not list phone")));
});
