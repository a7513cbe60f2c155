import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";

import { FakePos } from "../adapters/pos/fake-pos.ts";
import { FakeSlack } from "../adapters/slack/fake-slack.ts";
import { readFixture } from "./helpers/sample-events.ts";
import {
  demoConfig,
  startTestService,
  waitFor,
  type TestService,
} from "./helpers/service.ts";

describe("unmapped POS item", () => {
  const secret = `whsec_${randomBytes(32).toString("base64")}`;
  let slack: FakeSlack;
  let pos: FakePos;
  let service: TestService;

  before(async () => {
    slack = await FakeSlack.start();
    pos = await new FakePos([secret]).start();
    service = await startTestService({
      config: demoConfig({
        restaurant: {
          adapters: [
            {
              name: "pos",
              type: "pos",
              // The Ceviche is mapped but its Èclairs mod is not.
              options: {
                url: pos.url,
                secrets: [secret],
                items: { "5100d13b-05dc-4908-ae66-c2d9d63e704d": "CEV-01" },
              },
            },
            {
              name: "slack-floor",
              type: "slack",
              options: {
                mode: "webhook",
                minIntervalMs: 10,
                channels: [{ webhookUrl: slack.webhookUrl("floor") }],
              },
            },
          ],
        },
      }),
      adminToken: "admin-token-for-tests",
    });
  });

  after(async () => {
    await service.cleanup();
    await pos.close();
    await slack.close();
  });

  it("dead-letters the order and alerts Slack", async () => {
    const response = await service.post(readFixture("sample-order.json"));
    assert.equal(response.status, 200);

    const alert = await waitFor(
      () =>
        slack.requests.find((request) =>
          String(request.body.text).startsWith("Delivery to pos failed"),
        ),
      5_000,
      "the dead-letter alert in Slack",
    );
    assert.match(alert.rawBody, /bc7ba7fd-55cd-4f03-8bfb-af8bbf63b9bf/);
    assert.match(String(alert.body.text), /of order #233 · Barge \(bc960165-/);
    assert.equal(pos.accepted.length, 0);

    const list = await fetch(`${service.url}/admin/deliveries?status=dead`, {
      headers: { Authorization: "Bearer admin-token-for-tests" },
    });
    const { deliveries } = (await list.json()) as {
      deliveries: { adapter: string; reason: string }[];
    };
    assert.equal(deliveries.length, 1);
    assert.equal(deliveries[0]!.adapter, "pos");
    assert.match(deliveries[0]!.reason, /bc7ba7fd-55cd-4f03-8bfb-af8bbf63b9bf/);
  });

  it("later events of the order show what holds them", async () => {
    const response = await service.post(
      readFixture("lifecycle/02-accepted.json"),
    );
    assert.equal(response.status, 200);

    const list = await fetch(
      `${service.url}/admin/deliveries?status=pending&adapter=pos`,
      { headers: { Authorization: "Bearer admin-token-for-tests" } },
    );
    const { deliveries } = (await list.json()) as {
      deliveries: { eventType: string; heldBy?: string }[];
    };
    const dead = await fetch(`${service.url}/admin/deliveries?status=dead`, {
      headers: { Authorization: "Bearer admin-token-for-tests" },
    });
    const [head] = ((await dead.json()) as { deliveries: { id: string }[] })
      .deliveries;
    assert.ok(deliveries.length > 0, "no pending POS delivery");
    for (const delivery of deliveries) assert.equal(delivery.heldBy, head!.id);
  });
});
