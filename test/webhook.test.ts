import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";

import { orderPartition } from "../src/store/keys.ts";
import { lifecycleSnapshots, readFixture } from "./helpers/sample-events.ts";
import {
  demoConfig,
  startTestService,
  waitFor,
  type TestService,
} from "./helpers/service.ts";

const ORDER_ID = "bc960165-aa17-4506-abdc-0b1c26e44ff9";

type Answer = {
  outcome?: string;
  events?: { id: string; type: string }[];
  error?: string;
  reason?: string;
  problems?: { path: string; message: string }[];
  quarantineId?: string;
  warnings?: string[];
};

async function answerOf(response: Response): Promise<Answer> {
  return (await response.json()) as Answer;
}

describe("webhook lifecycle", () => {
  let service: TestService;
  before(async () => {
    service = await startTestService();
  });
  after(() => service.cleanup());

  it("sample order is created and reaches events.jsonl", async () => {
    const response = await service.post(readFixture("sample-order.json"));
    assert.equal(response.status, 200);
    const answer = await answerOf(response);
    assert.equal(answer.outcome, "created");
    assert.deepEqual(
      answer.events?.map((event) => event.type),
      ["order.created"],
    );

    const lines = await waitFor(async () => {
      const events = await service.jsonlEvents();
      return events.length >= 1 ? events : undefined;
    });
    assert.equal(lines[0]!.type, "order.created");
    assert.equal(lines[0]!.order?.totalCents, 3078);
  });

  it("events.jsonl holds no guest data by default", async () => {
    const text = JSON.stringify(await service.jsonlEvents());
    for (const value of [
      "guest@example.com",
      "5555550100",
      "Sam Diner",
      "fp_sample0000001",
      "cus_sample000001",
      "0077",
    ]) {
      assert.ok(!text.includes(value), `events.jsonl contains ${value}`);
    }
  });

  it("same snapshot again yields no events", async () => {
    const response = await service.post(readFixture("sample-order.json"));
    assert.equal(response.status, 200);
    const answer = await answerOf(response);
    assert.equal(answer.outcome, "duplicate");
    assert.deepEqual(answer.events, []);
  });

  it("follow-ups yield the right events with exact cents", async () => {
    const [, accepted, ready, delivered, refund, closed] = lifecycleSnapshots();
    const types = async (snapshot: unknown) =>
      (await answerOf(await service.post(snapshot))).events?.map(
        (event) => event.type,
      );

    assert.deepEqual(await types(accepted), [
      "order.item_status_changed",
      "order.item_status_changed",
      "order.status_changed",
    ]);
    assert.deepEqual(await types(ready), [
      "order.item_status_changed",
      "order.item_status_changed",
      "order.status_changed",
    ]);
    assert.deepEqual(await types(delivered), [
      "order.item_status_changed",
      "order.item_status_changed",
      "order.status_changed",
    ]);
    assert.deepEqual(await types(refund), [
      "order.items_changed",
      "order.refunded",
      "order.tip_changed",
    ]);
    assert.deepEqual(await types(closed), ["order.closed"]);

    const events = await waitFor(async () => {
      const lines = await service.jsonlEvents();
      return lines.length >= 14 ? lines : undefined;
    });
    const refunded = events.find((event) => event.type === "order.refunded")!
      .change as Record<string, unknown>;
    assert.equal(refunded.pretaxCents, 1194);
    assert.equal(refunded.taxCents, 106);
    assert.equal(refunded.tipCents, 239);
    assert.equal(refunded.feeCents, 0);
    assert.equal(refunded.totalCents, 1539);

    const ready2 = events
      .filter((event) => event.type === "order.status_changed")
      .map((event) => event.change);
    assert.deepEqual(ready2, [
      { from: "waiting", to: "accepted" },
      { from: "accepted", to: "ready" },
      { from: "ready", to: "delivered" },
    ]);
  });

  it("older snapshot after a newer one changes nothing", async () => {
    const [, accepted] = lifecycleSnapshots();
    const late = structuredClone(accepted!) as unknown as {
      order: { last_modified: string; items: { status: string }[] };
    };
    late.order.last_modified = "2021-12-08T01:00:00.000001Z";
    for (const item of late.order.items) item.status = "preparing";

    const response = await service.post(late);
    assert.equal(response.status, 200);
    const answer = await answerOf(response);
    assert.equal(answer.outcome, "stale");
    assert.deepEqual(answer.events, []);

    const stored = (await service.store.get(
      "orders",
      orderPartition("2021-12-07", ORDER_ID),
      ORDER_ID,
    )) as {
      current: { stage: string; closedAt: string | null };
      history: { outcome: string; modifiedAt: string }[];
    };
    assert.equal(stored.current.stage, "delivered");
    assert.equal(stored.current.closedAt, "2021-12-08T02:00:00.250113Z");
    assert.equal(stored.history.at(-1)!.outcome, "stale");
    assert.equal(
      stored.history.at(-1)!.modifiedAt,
      "2021-12-08T01:00:00.000001Z",
    );
  });

  it("an old snapshot seen before is a duplicate", async () => {
    const [, accepted] = lifecycleSnapshots();
    const answer = await answerOf(await service.post(accepted));
    assert.equal(answer.outcome, "duplicate");
    assert.deepEqual(answer.events, []);
  });
});

describe("webhook concurrency", () => {
  let service: TestService;
  before(async () => {
    service = await startTestService();
  });
  after(() => service.cleanup());

  it("50 parallel posts of one snapshot create the order once", async () => {
    const snapshot = readFixture("sample-order.json");
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => service.post(snapshot).then(answerOf)),
    );
    const created = answers.filter((answer) => answer.outcome === "created");
    assert.equal(created.length, 1);
    assert.equal(
      answers.filter((answer) => answer.outcome === "duplicate").length,
      49,
    );

    const events = await waitFor(async () => {
      const lines = await service.jsonlEvents();
      return lines.length >= 1 ? lines : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(
      (await service.jsonlEvents()).filter(
        (event) => event.type === "order.created",
      ).length,
      1,
    );
    assert.equal(events[0]!.type, "order.created");
  });
});

describe("webhook rejections", () => {
  let service: TestService;
  before(async () => {
    service = await startTestService({
      config: demoConfig({ top: { server: { bodyLimitBytes: 64 * 1024 } } }),
      adminToken: "admin-token-for-tests",
    });
  });
  after(() => service.cleanup());

  const quarantined = async (id: string) => {
    const response = await fetch(`${service.url}/admin/quarantine/${id}`, {
      headers: { Authorization: "Bearer admin-token-for-tests" },
    });
    return ((await response.json()) as { entry: Record<string, unknown> })
      .entry;
  };

  it("wrong credentials get 401 and store nothing", async () => {
    const wrong = `Basic ${Buffer.from("demo:nope").toString("base64")}`;
    const response = await service.post(readFixture("sample-order.json"), {
      auth: wrong,
    });
    assert.equal(response.status, 401);
    assert.match(
      response.headers.get("www-authenticate") ?? "",
      /^Basic realm=/,
    );

    const missing = await service.post(readFixture("sample-order.json"), {
      auth: null,
    });
    assert.equal(missing.status, 401);

    const list = await fetch(`${service.url}/admin/quarantine`, {
      headers: { Authorization: "Bearer admin-token-for-tests" },
    });
    assert.deepEqual(
      ((await list.json()) as { entries: unknown[] }).entries,
      [],
    );
    assert.equal(
      await service.store.get(
        "orders",
        orderPartition("2021-12-07", ORDER_ID),
        ORDER_ID,
      ),
      undefined,
    );
  });

  it("invalid JSON gets 400 with the position and is quarantined", async () => {
    const response = await service.post(undefined, {
      raw: '{"order": {"id": "x",}',
    });
    assert.equal(response.status, 400);
    const answer = await answerOf(response);
    assert.equal(answer.reason, "invalid_json");
    assert.match(answer.error ?? "", /position \d+/);

    const entry = await quarantined(answer.quarantineId!);
    assert.equal(entry.body, '{"order": {"id": "x",}');
    const headers = entry.headers as Record<string, string>;
    assert.equal(headers.authorization, undefined);
    assert.equal(headers["content-type"], "application/json");
  });

  it("form-encoded body gets 415", async () => {
    const response = await service.post(undefined, {
      raw: "order=1",
      contentType: "application/x-www-form-urlencoded",
    });
    assert.equal(response.status, 415);
    assert.equal((await answerOf(response)).reason, "unsupported_media_type");
  });

  it("body over the limit gets 413", async () => {
    const response = await service.post(undefined, {
      raw: `{"pad":"${"x".repeat(70 * 1024)}"}`,
    });
    assert.equal(response.status, 413);
    const answer = await answerOf(response);
    assert.equal(answer.reason, "too_large");
    assert.match(answer.error ?? "", /bodyLimitBytes/);
  });

  it("schema violations get 422 naming every field", async () => {
    const body = readFixture("sample-order.json") as unknown as {
      order: Record<string, unknown> & { items: Record<string, unknown>[] };
    };
    body.order.total_cents = "30.78";
    body.order.items[1]!.pretax_cents = 11.5;
    delete body.order.last_modified;
    const response = await service.post(body);
    assert.equal(response.status, 422);
    const answer = await answerOf(response);
    const paths = answer.problems?.map((problem) => problem.path).sort();
    assert.deepEqual(paths, [
      "order.items[1].pretax_cents",
      "order.last_modified",
      "order.total_cents",
    ]);
    assert.ok(answer.quarantineId);
  });

  it("negative and unsafe cents get 422", async () => {
    const body = readFixture("sample-order.json") as unknown as {
      order: Record<string, unknown> & { items: Record<string, unknown>[] };
    };
    body.order.pretax_cents = -2388;
    body.order.items[0]!.tax_cents = 2 ** 53;
    const response = await service.post(body);
    assert.equal(response.status, 422);
    const answer = await answerOf(response);
    const messages = Object.fromEntries(
      (answer.problems ?? []).map((problem) => [problem.path, problem.message]),
    );
    assert.equal(messages["order.pretax_cents"], "must not be negative");
    assert.match(messages["order.items[0].tax_cents"] ?? "", /between/);
  });

  it("wrong types are named plainly", async () => {
    const response = await service.post({ order: "x" });
    assert.equal(response.status, 422);
    const answer = await answerOf(response);
    assert.deepEqual(answer.problems, [
      { path: "order", message: "must be an object" },
    ]);
  });

  it("empty body gets 400 saying so", async () => {
    const response = await service.post(undefined, { raw: "" });
    assert.equal(response.status, 400);
    assert.match((await answerOf(response)).error ?? "", /the body is empty/);
  });

  it("invalid UTF-8 gets 400", async () => {
    const body = Buffer.concat([
      Buffer.from('{"order": {"id": "'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}}'),
    ]);
    const response = await service.post(undefined, { raw: body });
    assert.equal(response.status, 400);
    assert.match((await answerOf(response)).error ?? "", /not valid UTF-8/);
  });

  it("compressed body gets 415", async () => {
    const response = await fetch(`${service.url}/webhooks/bbot`, {
      method: "POST",
      headers: {
        Authorization: `Basic ${Buffer.from("demo:demo").toString("base64")}`,
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
      },
      body: gzipSync(JSON.stringify(readFixture("sample-order.json"))),
    });
    assert.equal(response.status, 415);
    assert.match(
      (await answerOf(response)).error ?? "",
      /Content-Encoding "gzip"/,
    );
  });

  it("unknown restaurant gets 404 and can be replayed", async () => {
    const body = readFixture("sample-order.json") as unknown as {
      order: Record<string, unknown>;
    };
    body.order.restaurant_id = "00000000-0000-0000-0000-000000000000";
    const response = await service.post(body);
    assert.equal(response.status, 404);
    const answer = await answerOf(response);
    assert.equal(answer.reason, "unknown_restaurant");

    const replay = await fetch(`${service.url}/admin/quarantine/replay`, {
      method: "POST",
      headers: {
        Authorization: "Bearer admin-token-for-tests",
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ ids: [answer.quarantineId] }),
    });
    const result = (await replay.json()) as { results: { status: number }[] };
    assert.equal(result.results[0]!.status, 404);
    const entry = await quarantined(answer.quarantineId!);
    assert.equal((entry.replays as unknown[]).length, 1);
  });

  it("a body that is not an object gets 422", async () => {
    const response = await service.post([1, 2, 3]);
    assert.equal(response.status, 422);
  });

  it("the process survives every rejection", async () => {
    const health = await fetch(`${service.url}/healthz`);
    assert.equal(health.status, 200);
  });
});

describe("webhook restaurant matching", () => {
  let service: TestService;
  before(async () => {
    service = await startTestService({
      config: {
        restaurants: [
          {
            id: "harbor",
            name: "Harbor",
            customerId: "cust-42",
            timeZone: "America/Chicago",
            auth: { username: "harbor", password: "${HARBOR_PASSWORD}" },
            adapters: [{ name: "events-file", type: "jsonl" }],
          },
          {
            id: "demo",
            name: "Demo",
            bbotRestaurantId: "ecde3351-606c-4971-ab5a-792bccb0e5e2",
            timeZone: "America/New_York",
            auth: { username: "demo", password: "demo" },
          },
        ],
      },
      env: { HARBOR_PASSWORD: "s3cret" },
    });
  });
  after(() => service.cleanup());

  it("customer id matches with env credentials", async () => {
    const body = readFixture("sample-order.json") as unknown as Record<
      string,
      unknown
    > & { order: Record<string, unknown> };
    body.restaurant_id = "cust-42";
    body.order.restaurant_id = "11111111-1111-1111-1111-111111111111";
    const auth = `Basic ${Buffer.from("harbor:s3cret").toString("base64")}`;
    const response = await service.post(body, { auth });
    assert.equal(response.status, 200);
    assert.equal((await answerOf(response)).outcome, "created");
  });

  it("another restaurant's credentials get 403", async () => {
    const body = readFixture("sample-order.json") as unknown as Record<
      string,
      unknown
    >;
    body.restaurant_id = "cust-42";
    (body.order as Record<string, unknown>).restaurant_id =
      "11111111-1111-1111-1111-111111111111";
    const response = await service.post(body);
    assert.equal(response.status, 403);
    assert.equal((await answerOf(response)).reason, "wrong_restaurant");
  });
});
