import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { adapterRegistry } from "../adapters/index.ts";
import { checkConfig } from "../src/config/load.ts";
import { FakeDestination } from "../src/demo/fake-destination.ts";
import { createLogger } from "../src/logger.ts";
import { startService, type RunningService } from "../src/service.ts";
import { SAMPLE_PERSONAL_VALUES } from "./helpers/adapter-contract.ts";
import { lifecycleSnapshots } from "./helpers/sample-events.ts";
import { LogCapture, waitFor } from "./helpers/service.ts";

const WEBHOOK_PASSWORD = "hook-pass-7f3a9c21";
const ADMIN_TOKEN = "admin-token-5d1e88b0c4";
const GOOD_AUTH = `Basic ${Buffer.from(`bbot:${WEBHOOK_PASSWORD}`).toString("base64")}`;
/** Wrong credentials that carry the guest's e-mail as the user name. */
const WRONG_AUTH = `Basic ${Buffer.from("guest@example.com:not-the-password").toString("base64")}`;

/** Every value that must never appear in a log line. */
const FORBIDDEN = [
  ...SAMPLE_PERSONAL_VALUES,
  WEBHOOK_PASSWORD,
  GOOD_AUTH.slice("Basic ".length),
  WRONG_AUTH.slice("Basic ".length),
  "not-the-password",
  ADMIN_TOKEN,
];

describe("log lines of a real service", () => {
  let dataDir: string;
  let loyalty: FakeDestination;
  let service: RunningService;
  const logs = new LogCapture();
  const statuses: number[] = [];

  const post = async (body: string, auth = GOOD_AUTH) => {
    const response = await fetch(`${service.url}/webhooks/bbot`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: auth },
      body,
    });
    await response.arrayBuffer();
    statuses.push(response.status);
    return response;
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "bbot-ops-logs-"));
    // A loyalty provider that rejects the first request and echoes the guest's data back,
    // as some APIs do in error messages.
    let calls = 0;
    loyalty = new FakeDestination("loyalty", (request) => {
      calls += 1;
      if (calls > 1) return { status: 201, body: { status: "recorded" } };
      return {
        status: 503,
        body: {
          error: `customer guest@example.com / 5555550100 not ready`,
          echo: request.body,
        },
      };
    });
    await loyalty.start();

    const config = checkConfig(
      "logs-test.json",
      {
        delivery: { pollIntervalMs: 20 },
        restaurants: [
          {
            id: "demo",
            name: "Demo Bistro",
            bbotRestaurantId: "ecde3351-606c-4971-ab5a-792bccb0e5e2",
            timeZone: "America/New_York",
            auth: { username: "bbot", password: "${WEBHOOK_PASSWORD}" },
            adapters: [
              { name: "events-file", type: "jsonl", events: ["*"] },
              {
                name: "points",
                type: "loyalty",
                personalData: ["phone", "email"],
                retry: { initialDelayMs: 10, maxDelayMs: 50, jitter: 0 },
                options: {
                  baseUrl: loyalty.url,
                  identifyBy: "phone",
                  defaultCountryCode: "1",
                  creditOn: "created",
                },
              },
            ],
          },
        ],
      },
      adapterRegistry,
      { WEBHOOK_PASSWORD },
    );
    service = await startService({
      config,
      registry: adapterRegistry,
      logger: createLogger({ level: "trace", destination: logs }),
      host: "127.0.0.1",
      port: 0,
      dataDir,
      adminToken: ADMIN_TOKEN,
      shutdownDeadlineMs: 2_000,
    });

    for (const snapshot of lifecycleSnapshots())
      await post(JSON.stringify(snapshot));

    const placed = JSON.stringify(lifecycleSnapshots()[0]);
    await post(placed, WRONG_AUTH);
    await post(`{"guest_email": "guest@example.com", "mobile": "5555550100",`);
    const broken = lifecycleSnapshots()[0] as unknown as {
      order: Record<string, unknown>;
    };
    broken.order.total_cents = "guest@example.com";
    broken.order.mobile = { number: "5555550100" };
    broken.order.id = "Sam Diner";
    await post(JSON.stringify(broken));
    const unknown = lifecycleSnapshots()[0] as unknown as {
      order: Record<string, unknown>;
    };
    unknown.order.restaurant_id = "guest@example.com";
    await post(JSON.stringify(unknown));

    await fetch(`${service.url}/admin/deliveries`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    }).then((response) => response.arrayBuffer());
    await fetch(`${service.url}/admin/deliveries`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}x` },
    }).then((response) => response.arrayBuffer());

    await waitFor(
      () => loyalty.accepted().length > 0 && service.engine.open.size === 0,
      10_000,
      "the loyalty delivery to land after its failed first attempt",
    );
    await service.stop();
    if (process.env.BBOT_TEST_PRINT_LOGS) console.log(logs.lines.join("\n"));
  });

  after(async () => {
    await service.stop();
    await loyalty.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("covers good and bad requests", () => {
    assert.ok(statuses.includes(200), "no webhook was accepted");
    assert.ok(statuses.includes(401), "wrong credentials were not rejected");
    assert.ok(statuses.includes(400), "invalid JSON was not rejected");
    assert.ok(statuses.includes(422), "a schema violation was not rejected");
    assert.ok(statuses.includes(404), "an unknown restaurant was not rejected");
    assert.ok(loyalty.rejected().length > 0, "the loyalty fake never failed");
  });

  it("contains no guest data, credentials or tokens", () => {
    assert.ok(logs.lines.length > 50, `only ${logs.lines.length} log lines`);
    for (const value of FORBIDDEN) {
      const leaks = logs.lines.filter((line) => line.includes(value));
      assert.deepEqual(leaks, [], `log lines contain ${value}`);
    }
  });

  it("logs one line per request with its fields", () => {
    const requests = logs.lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === "request");
    assert.equal(requests.length, statuses.length + 2);

    const accepted = requests.find(
      (line) => line.path === "/webhooks/bbot" && line.status === 200,
    );
    assert.ok(accepted, "no request line for an accepted webhook");
    assert.equal(accepted.method, "POST");
    assert.equal(accepted.restaurantId, "demo");
    assert.equal(accepted.orderId, "bc960165-aa17-4506-abdc-0b1c26e44ff9");
    assert.equal(typeof accepted.durationMs, "number");

    const unauthorized = requests.find((line) => line.status === 401);
    assert.ok(unauthorized, "no request line for the 401");
    assert.equal(unauthorized.restaurantId, undefined);
  });

  it("logs one line per delivery attempt", () => {
    const attempts = logs.lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter(
        (line) =>
          line.msg === "delivered" ||
          line.msg === "delivery attempt failed; will retry",
      );
    const failed = attempts.filter((line) => line.adapter === "points");
    assert.ok(failed.length >= 2, "the loyalty attempts were not logged");
    for (const line of attempts) {
      assert.equal(typeof line.attempt, "number");
      assert.equal(typeof line.deliveryId, "string");
      assert.equal(typeof line.eventType, "string");
      assert.equal(line.restaurantId, "demo");
    }
  });
});
