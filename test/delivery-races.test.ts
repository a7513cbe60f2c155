import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";

import { FakeDownstream } from "./helpers/fake-downstream.ts";
import { testRegistry } from "./helpers/http-adapter.ts";
import { readFixture } from "./helpers/sample-events.ts";
import {
  demoConfig,
  ManualClock,
  startTestService,
  waitFor,
  type TestService,
} from "./helpers/service.ts";

function posConfig(url: string) {
  return demoConfig({
    restaurant: {
      adapters: [
        {
          name: "pos",
          type: "http-test",
          events: ["order.created"],
          options: { url },
          retry: { initialDelayMs: 60_000, jitter: 0 },
        },
      ],
    },
  });
}

describe("delivery races", () => {
  const downstream = new FakeDownstream();
  let service: TestService | undefined;
  before(() => downstream.listen());
  after(() => downstream.close());
  afterEach(async () => {
    await service?.cleanup();
    service = undefined;
  });

  it("held delivery does not start", async () => {
    const clock = new ManualClock();
    service = await startTestService({
      config: posConfig(downstream.url),
      registry: testRegistry,
      clock,
    });
    downstream.reply = () => ({ status: 503 });
    await service.post(readFixture("sample-order.json"));
    const record = await waitFor(() =>
      [...service!.engine.open.values()].find((item) => item.attempts === 1),
    );

    assert.equal(service.engine.hold(record.id), true);
    downstream.reply = () => ({ status: 200 });
    clock.advance(120_000);
    service.engine.tick();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(downstream.received.length, 1, "a held delivery started");

    service.engine.release(record.id);
    service.engine.tick();
    await waitFor(() => downstream.received.length === 2);
  });

  it("failed outcome write backs off", async () => {
    service = await startTestService({
      config: posConfig(downstream.url),
      registry: testRegistry,
    });
    downstream.reply = () => ({ status: 200 });
    // A failing disk cannot be had here, so every commit after the webhook's fails.
    const store = service.store as unknown as {
      commit: (ops: unknown) => Promise<void>;
    };
    const commit = store.commit.bind(store);
    let commits = 0;
    store.commit = (ops) => {
      commits += 1;
      return commits === 1
        ? commit(ops)
        : Promise.reject(new Error("ENOSPC: no space left"));
    };
    const before = downstream.received.length;
    await service.post(readFixture("sample-order.json"));
    await waitFor(() => downstream.received.length > before);
    await new Promise((resolve) => setTimeout(resolve, 300));

    assert.equal(
      downstream.received.length - before,
      1,
      "the delivery was sent again at once",
    );
    store.commit = commit;
  });
});
