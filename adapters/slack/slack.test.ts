import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import type {
  Adapter,
  AdapterState,
  DeliveryContext,
} from "../../src/delivery/contract.ts";
import {
  PermanentDeliveryError,
  TransientDeliveryError,
} from "../../src/delivery/errors.ts";
import { silentLogger } from "../../src/logger.ts";
import type {
  BridgeEvent,
  DeadLetterEvent,
  OrderEvent,
} from "../../src/orders/events.ts";
import { redactOrder, type PersonalField } from "../../src/orders/model.ts";
import {
  deliveryContext,
  describeAdapterContract,
  memoryState,
  SAMPLE_PERSONAL_VALUES,
} from "../../test/helpers/adapter-contract.ts";
import {
  demoRestaurant,
  eventsOf,
  lifecycleSnapshots,
} from "../../test/helpers/sample-events.ts";
import { FakeSlack } from "./fake-slack.ts";
import { slackAdapter, type SlackOrderState } from "./index.ts";

const TOKEN = "xoxb-test-token";
const ORDER_ID = "bc960165-aa17-4506-abdc-0b1c26e44ff9";
// Short enough to keep the suite fast, long enough to tell paced from unpaced posts.
const INTERVAL_MS = 80;

describeAdapterContract({
  factory: slackAdapter,
  hasPermanentFailures: true,
  async setup() {
    const fake = await FakeSlack.start();
    return {
      options: {
        mode: "webhook",
        channels: [{ webhookUrl: fake.webhookUrl("orders") }],
        minIntervalMs: 0,
      },
      destination: {
        async received() {
          return fake.requests.map((request) => request.rawBody);
        },
        fail(kind) {
          if (kind === "transient")
            fake.failAlways({ status: 503, body: "service_unavailable" });
          else if (kind === "permanent")
            fake.failAlways({ status: 404, body: "channel_not_found" });
          else fake.failAlways(null);
        },
        close: () => fake.close(),
      },
    };
  },
});

/** Builds the sample lifecycle's events as the engine hands them over, redacted per `personalData`. */
function lifecycle(personalData: PersonalField[] = []): OrderEvent[] {
  return eventsOf(lifecycleSnapshots()).map((event) => ({
    ...event,
    order: redactOrder(event.order, personalData),
  }));
}

function firstOf(type: string, personalData: PersonalField[] = []) {
  return lifecycle(personalData).find((event) => event.type === type)!;
}

/** Copies the created event for another order, to load one channel with several orders. */
function createdFor(orderId: string): OrderEvent {
  const created = firstOf("order.created");
  return {
    ...created,
    id: `evt_${orderId}`,
    orderId,
    order: { ...created.order, orderId },
  };
}

function deadLetter(orderId: string | null): DeadLetterEvent {
  return {
    id: `evt_dead_${orderId}`,
    type: "delivery.dead_lettered",
    restaurantId: "demo",
    orderId,
    occurredAt: "2021-12-08T01:00:00Z",
    detectedAt: "2021-12-08T01:00:00Z",
    detectedBusinessDate: "2021-12-07",
    change: {
      deliveryId: "dlv_1",
      adapter: "pos",
      eventId: "evt_1",
      eventType: "order.created",
      attempts: 16,
      reason: "POS answered HTTP 400",
      orderNumberToday: orderId ? 233 : null,
      tableName: orderId ? "Barge" : null,
    },
  };
}

function createAdapter(
  options: Record<string, unknown>,
  state: AdapterState = memoryState(),
  personalData: PersonalField[] = [],
): Adapter {
  const checked = slackAdapter.optionsSchema.validateSync(options);
  return slackAdapter.create(checked, {
    restaurant: demoRestaurant(),
    entry: { personalData } as never,
    logger: silentLogger(),
    clock: { now: () => Date.now() },
    dataDir: "/nonexistent",
    state,
  });
}

function context(overrides: Partial<DeliveryContext> = {}): DeliveryContext {
  return deliveryContext(overrides);
}

async function handleAll(adapter: Adapter, events: BridgeEvent[]) {
  for (const event of events) await adapter.handle(event, context());
}

describe("slack webhook mode", () => {
  let fake: FakeSlack;
  before(async () => {
    fake = await FakeSlack.start();
  });
  after(() => fake.close());

  const webhookOptions = (extra: Record<string, unknown> = {}) => ({
    mode: "webhook",
    channels: [{ webhookUrl: fake.webhookUrl("orders") }],
    minIntervalMs: INTERVAL_MS,
    ...extra,
  });

  it("posts created, ready and refund by default", async () => {
    fake.requests.length = 0;
    const adapter = createAdapter(webhookOptions());

    await handleAll(adapter, lifecycle());

    const headers = fake
      .posts("orders")
      .map((request) => (request.body["blocks"] as any[])[0].text.text);
    assert.deepEqual(headers, [
      "New order #233 · Barge",
      "Order #233 is ready · Barge",
      "Refund on order #233 · Barge",
    ]);
    assert.deepEqual(fake.violations, []);
    assert.ok(fake.minGapMs("orders") >= INTERVAL_MS - 5);
  });

  it("spaces concurrent posts to one channel", async () => {
    fake.requests.length = 0;
    const adapter = createAdapter(webhookOptions());
    const events = Array.from({ length: 5 }, (_unused, index) =>
      createdFor(`order-${index}`),
    );

    await Promise.all(events.map((event) => adapter.handle(event, context())));

    assert.equal(fake.posts("orders").length, 5);
    const gap = fake.minGapMs("orders");
    assert.ok(gap >= INTERVAL_MS - 5, `posts only ${gap} ms apart`);
  });

  it("lets each channel pick its alerts", async () => {
    fake.requests.length = 0;
    const adapter = createAdapter(
      webhookOptions({
        channels: [
          { webhookUrl: fake.webhookUrl("kitchen") },
          {
            webhookUrl: fake.webhookUrl("office"),
            events: ["order.refunded", "order.closed"],
          },
        ],
        minIntervalMs: 0,
      }),
    );

    await handleAll(adapter, lifecycle());

    assert.equal(fake.posts("kitchen").length, 3);
    assert.equal(fake.posts("office").length, 2);
  });

  it("sends the delivery's idempotency key", async () => {
    fake.requests.length = 0;
    const adapter = createAdapter(webhookOptions());

    await adapter.handle(
      firstOf("order.created"),
      context({ idempotencyKey: "dlv_abc" }),
    );

    assert.equal(fake.requests[0]?.headers["idempotency-key"], "dlv_abc");
  });

  it("429 honours Retry-After and holds the channel", async () => {
    const adapter = createAdapter(webhookOptions());
    fake.failNext({
      status: 429,
      body: "rate_limited",
      headers: { "Retry-After": "2" },
    });

    const error = await adapter
      .handle(createdFor("order-429"), context())
      .catch((caught: unknown) => caught);

    assert.ok(error instanceof TransientDeliveryError);
    assert.equal(error.details.retryAfterMs, 2000);
    assert.equal(error.details.status, 429);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 50);
    await assert.rejects(
      adapter.handle(
        createdFor("order-after-429"),
        context({ signal: controller.signal }),
      ),
      (caught: unknown) =>
        caught instanceof TransientDeliveryError &&
        /rate limit/.test(caught.message),
    );
    clearTimeout(timer);
  });

  it("channel_not_found is permanent", async () => {
    const adapter = createAdapter(webhookOptions());
    fake.failNext({ status: 404, body: "channel_not_found" });

    const error = await adapter
      .handle(createdFor("order-404"), context())
      .catch((caught: unknown) => caught);

    assert.ok(error instanceof PermanentDeliveryError);
    assert.match(
      error.message,
      /channels\[0\] failed: HTTP 404 channel_not_found/,
    );
    assert.equal(error.details.bodyExcerpt, "channel_not_found");
    assert.ok(!error.message.includes(fake.baseUrl), "message shows the URL");
  });

  it("invalid_payload is permanent", async () => {
    const adapter = createAdapter(webhookOptions());
    fake.failNext({ status: 400, body: "invalid_payload" });

    await assert.rejects(
      adapter.handle(createdFor("order-400"), context()),
      PermanentDeliveryError,
    );
  });

  it("5xx and network errors are transient", async () => {
    const adapter = createAdapter(webhookOptions());
    fake.failNext({ status: 500, body: "internal_error" });
    await assert.rejects(
      adapter.handle(createdFor("order-500"), context()),
      TransientDeliveryError,
    );

    const closed = await FakeSlack.start();
    const url = closed.webhookUrl("gone");
    await closed.close();
    const offline = createAdapter({
      mode: "webhook",
      channels: [{ webhookUrl: url }],
    });
    await assert.rejects(
      offline.handle(createdFor("order-offline"), context()),
      TransientDeliveryError,
    );
  });

  it("retry skips channels already reached", async () => {
    fake.requests.length = 0;
    const adapter = createAdapter(
      webhookOptions({
        channels: [
          { webhookUrl: fake.webhookUrl("first") },
          { webhookUrl: fake.webhookUrl("second") },
        ],
      }),
    );
    const event = createdFor("order-retry");
    fake.failNext({ status: 503, body: "service_unavailable" });

    await assert.rejects(
      adapter.handle(event, context()),
      TransientDeliveryError,
    );
    await adapter.handle(event, context());

    const delivered = fake.requests.filter((r) => r.rawBody.includes("#233"));
    assert.equal(delivered.length, 3);
    assert.equal(fake.posts("first").length + fake.posts("second").length, 3);
  });
});

describe("slack bot mode", () => {
  let fake: FakeSlack;
  before(async () => {
    fake = await FakeSlack.start(TOKEN);
  });
  after(() => fake.close());

  const botOptions = (extra: Record<string, unknown> = {}) => ({
    mode: "bot",
    token: TOKEN,
    apiBaseUrl: fake.apiBaseUrl,
    channels: [{ channel: "#orders" }],
    minIntervalMs: INTERVAL_MS,
    ...extra,
  });

  it("threads an order's alerts and updates the parent", async () => {
    fake.requests.length = 0;
    const state = memoryState();
    const adapter = createAdapter(botOptions(), state);

    await handleAll(adapter, lifecycle());

    const posts = fake.posts("#orders");
    assert.equal(posts.length, 3, "parent, ready reply, refund reply");
    assert.equal(posts[0]!.body["thread_ts"], undefined);
    const saved = await state.get<SlackOrderState>(ORDER_ID);
    const thread = saved?.channels["channel:#orders"]?.thread;
    assert.deepEqual(thread, { channel: "CORDERS", ts: "1700000000.000001" });
    assert.equal(posts[1]!.body["thread_ts"], thread!.ts);
    assert.equal(posts[2]!.body["thread_ts"], thread!.ts);
    assert.match(JSON.stringify(posts[1]!.body), /\*Ready\*/);
    assert.match(JSON.stringify(posts[2]!.body), /Refund on order #233/);

    const updates = fake.requests.filter((r) => r.kind === "update");
    assert.ok(updates.length >= 3, `only ${updates.length} updates`);
    for (const update of updates) {
      assert.equal(update.body["channel"], "CORDERS");
      assert.equal(update.body["ts"], thread!.ts);
    }
    const parent = JSON.stringify(fake.messages.get(thread!.ts)!.body);
    assert.match(parent, /Delivered · closed/);
    assert.match(parent, /\*Total\*\\n\$15\.39/);
    assert.equal(posts[0]!.headers.authorization, `Bearer ${TOKEN}`);
    assert.deepEqual(fake.violations, []);
    assert.ok(fake.minGapMs("#orders") >= INTERVAL_MS - 5);
  });

  it("posts a dead letter in the order's thread", async () => {
    fake.requests.length = 0;
    const adapter = createAdapter(botOptions());

    await adapter.handle(firstOf("order.created"), context());
    await adapter.handle(deadLetter(ORDER_ID), context());
    await adapter.handle(deadLetter(null), context());

    const posts = fake.posts("#orders");
    assert.equal(posts.length, 3);
    assert.equal(posts[1]!.body["thread_ts"], "1700000000.000004");
    assert.equal(posts[2]!.body["thread_ts"], undefined);
  });

  it("retry after a failed update posts no duplicate", async () => {
    fake.requests.length = 0;
    const adapter = createAdapter(botOptions({ minIntervalMs: 0 }));
    const ready = lifecycle().find(
      (event) =>
        event.type === "order.status_changed" &&
        (event as OrderEvent<"order.status_changed">).change.to === "ready",
    )!;
    await adapter.handle(firstOf("order.created"), context());
    fake.failNext({ status: 503, body: { ok: false } }, 1, "update");

    await assert.rejects(
      adapter.handle(ready, context()),
      TransientDeliveryError,
    );
    await adapter.handle(ready, context());

    assert.equal(fake.posts("#orders").length, 2, "parent and one reply");
    assert.equal(fake.requests.filter((r) => r.kind === "update").length, 2);
  });

  it("starts a new thread when the parent is gone", async () => {
    fake.requests.length = 0;
    const state = memoryState();
    const adapter = createAdapter(botOptions({ minIntervalMs: 0 }), state);
    await adapter.handle(firstOf("order.created"), context());
    fake.messages.clear();

    await adapter.handle(firstOf("order.status_changed"), context());

    const saved = await state.get<SlackOrderState>(ORDER_ID);
    assert.equal(saved?.channels["channel:#orders"]?.thread, undefined);
  });

  it("channel_not_found is permanent", async () => {
    const adapter = createAdapter(botOptions());
    fake.failNext({
      status: 200,
      body: { ok: false, error: "channel_not_found" },
    });

    const error = await adapter
      .handle(createdFor("order-bot-404"), context())
      .catch((caught: unknown) => caught);

    assert.ok(error instanceof PermanentDeliveryError);
    assert.match(
      error.message,
      /chat\.postMessage to #orders failed: channel_not_found/,
    );
    assert.match(error.details.bodyExcerpt ?? "", /channel_not_found/);
  });

  it("classifies Slack error codes", async () => {
    const cases = [
      ["channel_is_archived", PermanentDeliveryError],
      ["action_prohibited", PermanentDeliveryError],
      ["no_service", PermanentDeliveryError],
      ["not_in_channel", PermanentDeliveryError],
      ["invalid_payload", PermanentDeliveryError],
      ["ratelimited", TransientDeliveryError],
      ["internal_error", TransientDeliveryError],
    ] as const;
    const adapter = createAdapter(botOptions({ minIntervalMs: 0 }));

    for (const [code, expected] of cases) {
      fake.failNext({ status: 200, body: { ok: false, error: code } });
      await assert.rejects(
        adapter.handle(createdFor(`order-${code}`), context()),
        expected,
        code,
      );
    }
  });

  it("a wrong token is permanent", async () => {
    const adapter = createAdapter(botOptions({ token: "xoxb-wrong" }));

    await assert.rejects(
      adapter.handle(createdFor("order-auth"), context()),
      (caught: unknown) =>
        caught instanceof PermanentDeliveryError &&
        /invalid_auth/.test(caught.message) &&
        !caught.message.includes("xoxb-wrong"),
    );
  });

  it("429 honours Retry-After", async () => {
    const adapter = createAdapter(botOptions());
    fake.failNext({
      status: 429,
      body: { ok: false, error: "ratelimited" },
      headers: { "Retry-After": "1" },
    });

    const error = await adapter
      .handle(createdFor("order-bot-429"), context())
      .catch((caught: unknown) => caught);

    assert.ok(error instanceof TransientDeliveryError);
    assert.equal(error.details.retryAfterMs, 1000);
    assert.match(error.message, /HTTP 429 ratelimited/);
  });

  it("shows the first name only when both settings allow it", async () => {
    const personal = ["firstName"] as PersonalField[];
    const runs = [
      { show: true, personalData: personal, expected: true },
      { show: true, personalData: [], expected: false },
      { show: false, personalData: personal, expected: false },
    ];

    for (const run of runs) {
      fake.requests.length = 0;
      const adapter = createAdapter(
        botOptions({ showGuestFirstName: run.show, minIntervalMs: 0 }),
        memoryState(),
        run.personalData,
      );
      await handleAll(adapter, lifecycle(run.personalData));

      const sent = fake.requests.map((request) => request.rawBody).join("\n");
      assert.equal(
        sent.includes("*Guest:* Sam"),
        run.expected,
        JSON.stringify(run),
      );
      for (const value of SAMPLE_PERSONAL_VALUES)
        assert.ok(!sent.includes(value), `Slack received ${value}`);
    }
  });
});

describe("slack options", () => {
  const check = (options: unknown) =>
    slackAdapter.optionsSchema.validate(options, { abortEarly: true });

  it("rejects invalid options naming the key and rule", async () => {
    const hook = "https://hooks.slack.com/services/T000/B000/XXXX";
    const cases: [unknown, RegExp][] = [
      [
        { mode: "email", channels: [{ webhookUrl: hook }] },
        /mode must be one of: webhook, bot; received email/,
      ],
      [
        { channels: [{ webhookUrl: hook }] },
        /mode is required; allowed: webhook, bot/,
      ],
      [
        { mode: "webhook", channels: [] },
        /channels must list at least one channel/,
      ],
      [
        { mode: "webhook", channels: [{}] },
        /channels\[0\]\.webhookUrl is required when mode is webhook/,
      ],
      [
        { mode: "bot", channels: [{ channel: "#a" }] },
        /token is required when mode is bot/,
      ],
      [
        { mode: "bot", token: "x", channels: [{ webhookUrl: hook }] },
        /channels\[0\]\.channel is required when mode is bot/,
      ],
      [
        { mode: "webhook", channels: [{ webhookUrl: "http://example.com/x" }] },
        /channels\[0\]\.webhookUrl must be an https:\/\/ URL/,
      ],
      [
        {
          mode: "webhook",
          channels: [{ webhookUrl: hook, events: ["order.ready"] }],
        },
        /channels\[0\]\.events\[0\] must be \*, an event type .* received order\.ready/,
      ],
      [
        { mode: "webhook", colour: "red", channels: [{ webhookUrl: hook }] },
        /unknown key colour/,
      ],
      [
        {
          mode: "webhook",
          channels: [{ webhookUrl: hook, chanel: "#orders" }],
        },
        /channels\[0\] has unknown key chanel/,
      ],
      [
        {
          mode: "bot",
          token: "x",
          apiBaseUrl: "ftp://slack",
          channels: [{ channel: "#a" }],
        },
        /apiBaseUrl must be an https:\/\/ URL/,
      ],
    ];

    for (const [options, expected] of cases) {
      await assert.rejects(check(options), expected, JSON.stringify(options));
    }
  });

  it("keeps the webhook URL out of errors", async () => {
    await assert.rejects(
      check({
        mode: "webhook",
        channels: [{ webhookUrl: "http://secret.example/T0/B0" }],
      }),
      (caught: unknown) =>
        caught instanceof Error && !caught.message.includes("secret.example"),
    );
  });

  it("fills defaults and accepts loopback URLs", async () => {
    const options = await check({
      mode: "bot",
      token: "xoxb-1",
      apiBaseUrl: "http://127.0.0.1:9/api",
      channels: [
        { channel: "C0123", events: ["*", "order.status_changed:en_route"] },
      ],
    });

    assert.equal(options.minIntervalMs, 1000);
    assert.equal(options.showGuestFirstName, false);
  });

  it("subscribes to what the parent message needs", () => {
    for (const type of [
      "order.created",
      "order.status_changed",
      "order.refunded",
      "order.closed",
      "delivery.dead_lettered",
    ])
      assert.ok(slackAdapter.defaultEvents.includes(type as never), type);
  });
});
