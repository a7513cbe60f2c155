import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { adapterRegistry } from "../adapters/index.ts";
import { checkConfig } from "../src/config/load.ts";
import { FakeDestination } from "../src/demo/fake-destination.ts";
import { exportComponent } from "../src/export-component.ts";
import { silentLogger } from "../src/logger.ts";
import { startService, type RunningService } from "../src/service.ts";
import { lifecycleSnapshots } from "./helpers/sample-events.ts";
import { DEMO_AUTH, ManualClock, waitFor } from "./helpers/service.ts";

/** Reads one sample's value from Prometheus text, or undefined when the series is absent. */
function sample(text: string, name: string, labels = ""): number | undefined {
  const series = labels ? `${name}{${labels}}` : name;
  const line = text
    .split("\n")
    .find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

describe("metrics and health of a running service", () => {
  const clock = new ManualClock();
  let dataDir: string;
  let loyalty: FakeDestination;
  let service: RunningService;
  let schedulerReady = true;
  const events = new Map<string, number>();

  const scrape = async () => {
    const response = await fetch(`${service.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /text\/plain/);
    return response.text();
  };
  const post = async (body: unknown, auth = DEMO_AUTH) => {
    const response = await fetch(`${service.url}/webhooks/bbot`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: auth },
      body: JSON.stringify(body),
    });
    return (await response.json()) as { events?: { type: string }[] };
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "bbot-ops-metrics-"));
    loyalty = new FakeDestination("loyalty", () => ({
      status: 201,
      body: { status: "recorded" },
    }));
    await loyalty.start();
    loyalty.setOutage(true);

    const config = checkConfig(
      "metrics-test.json",
      {
        delivery: { pollIntervalMs: 20 },
        restaurants: [
          {
            id: "demo",
            name: "Demo Bistro",
            bbotRestaurantId: "ecde3351-606c-4971-ab5a-792bccb0e5e2",
            timeZone: "America/New_York",
            auth: { username: "demo", password: "demo" },
            adapters: [
              { name: "events-file", type: "jsonl", events: ["*"] },
              {
                name: "points",
                type: "loyalty",
                personalData: ["phone"],
                retry: { initialDelayMs: 1_000, jitter: 0 },
                options: { baseUrl: loyalty.url, defaultCountryCode: "1" },
              },
            ],
          },
        ],
      },
      adapterRegistry,
      {},
    );
    service = await startService({
      config,
      registry: adapterRegistry,
      logger: silentLogger(),
      host: "127.0.0.1",
      port: 0,
      dataDir,
      clock,
      shutdownDeadlineMs: 2_000,
      components: [exportComponent()],
      readinessChecks: { scheduler: () => schedulerReady },
    });

    for (const snapshot of lifecycleSnapshots()) {
      const body = await post(snapshot);
      for (const event of body.events ?? [])
        events.set(event.type, (events.get(event.type) ?? 0) + 1);
    }
    await post(lifecycleSnapshots().at(-1));
    await post(lifecycleSnapshots()[0], "Basic d3Jvbmc6d3Jvbmc=");
  });

  after(async () => {
    await service.stop();
    await loyalty.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("counts webhooks by outcome", async () => {
    const text = await scrape();
    const name = "bbot_bridge_webhooks_total";
    assert.equal(sample(text, name, 'outcome="created"'), 1);
    assert.equal(sample(text, name, 'outcome="updated"'), 5);
    assert.equal(sample(text, name, 'outcome="duplicate"'), 1);
    assert.equal(sample(text, name, 'outcome="unauthorized"'), 1);
  });

  it("counts events by type", async () => {
    const text = await scrape();
    assert.ok(events.size >= 5, "the lifecycle produced too few event types");
    for (const [type, count] of events) {
      assert.equal(
        sample(text, "bbot_bridge_events_total", `type="${type}"`),
        count,
        type,
      );
    }
  });

  it("counts delivery attempts by adapter and outcome", async () => {
    const total = [...events.values()].reduce((sum, count) => sum + count, 0);
    await waitFor(
      async () =>
        sample(
          await scrape(),
          "bbot_bridge_delivery_attempts_total",
          'restaurant="demo",adapter="events-file",outcome="delivered"',
        ) === total,
      5_000,
      "every event to reach the events file",
    );
    await waitFor(() => loyalty.rejected().length === 1, 5_000, "a 503");

    const text = await scrape();
    assert.equal(
      sample(
        text,
        "bbot_bridge_delivery_attempts_total",
        'restaurant="demo",adapter="points",outcome="transient"',
      ),
      1,
    );
  });

  it("reports pending deliveries and the oldest one's age", async () => {
    await waitFor(() => loyalty.rejected().length === 1, 5_000, "a 503");
    clock.advance(90_000);

    const text = await scrape();
    const pending = [...service.engine.open.values()].filter(
      (record) => record.status === "pending",
    ).length;
    assert.ok(pending > 0, "no delivery is pending during the outage");
    assert.equal(
      sample(text, "bbot_bridge_deliveries", 'status="pending"'),
      pending,
    );
    assert.equal(sample(text, "bbot_bridge_deliveries", 'status="dead"'), 0);
    assert.equal(
      sample(text, "bbot_bridge_oldest_pending_delivery_age_seconds"),
      90,
    );
  });

  it("shows export runs and store write latency", async () => {
    const text = await scrape();
    for (const outcome of ["written", "unchanged", "failed"]) {
      assert.equal(
        sample(text, "bbot_bridge_export_runs_total", `outcome="${outcome}"`),
        0,
        outcome,
      );
    }
    const commits = sample(text, "bbot_bridge_store_commit_seconds_count");
    assert.notEqual(commits, undefined, "no store commit histogram");
    assert.ok(commits! > 0, "no store commit timed");
  });

  it("drops pending to zero after recovery", async () => {
    loyalty.setOutage(false);
    // The retry is due on the manual clock; move it on until the delivery lands.
    await waitFor(
      () => {
        clock.advance(60_000);
        service.engine.schedule();
        return service.engine.open.size === 0;
      },
      5_000,
      "the loyalty deliveries to land",
    );

    const text = await scrape();
    assert.equal(sample(text, "bbot_bridge_deliveries", 'status="pending"'), 0);
    assert.equal(
      sample(text, "bbot_bridge_oldest_pending_delivery_age_seconds"),
      0,
    );
    assert.ok(
      (sample(
        text,
        "bbot_bridge_delivery_attempts_total",
        'restaurant="demo",adapter="points",outcome="delivered"',
      ) ?? 0) > 0,
    );
  });

  it("answers healthz while the process is up", async () => {
    const response = await fetch(`${service.url}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: "ok" });
  });

  it("answers readyz with every check", async () => {
    const response = await fetch(`${service.url}/readyz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      status: "ready",
      checks: {
        accepting: true,
        config: true,
        store: true,
        deliveryWorker: true,
        exportScheduler: true,
        scheduler: true,
      },
    });
  });

  it("fails readyz when a plugged-in check fails", async () => {
    schedulerReady = false;
    try {
      const response = await fetch(`${service.url}/readyz`);
      assert.equal(response.status, 503);
      const body = (await response.json()) as {
        checks: Record<string, boolean>;
      };
      assert.equal(body.checks.scheduler, false);
      assert.equal(body.checks.store, true);
    } finally {
      schedulerReady = true;
    }
  });

  it("fails readyz when the store cannot be written", async () => {
    await service.store.close();
    const response = await fetch(`${service.url}/readyz`);
    assert.equal(response.status, 503);
    const body = (await response.json()) as {
      checks: Record<string, boolean>;
    };
    assert.equal(body.checks.store, false);
  });
});
