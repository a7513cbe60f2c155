import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";

import { adapterRegistry } from "../adapters/index.ts";
import {
  checkConfig,
  ConfigError,
  DEFAULT_CONFIG_PATH,
  loadConfig,
} from "../src/config/load.ts";
import { silentLogger } from "../src/logger.ts";
import { checkExposure, startService, StartupError } from "../src/service.ts";
import { lifecycleSnapshots, readFixture } from "./helpers/sample-events.ts";
import { demoConfig, startTestService, waitFor } from "./helpers/service.ts";

const folders: string[] = [];
after(async () => {
  for (const folder of folders)
    await rm(folder, { recursive: true, force: true });
});

describe("service durability", () => {
  it("state survives a restart", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "bbot-restart-"));
    folders.push(dataDir);
    const [placed, accepted] = lifecycleSnapshots();

    const first = await startTestService({ dataDir });
    assert.equal(
      ((await (await first.post(placed)).json()) as { outcome: string })
        .outcome,
      "created",
    );
    await first.stop();

    const second = await startTestService({ dataDir });
    const answer = (await (await second.post(accepted)).json()) as {
      outcome: string;
    };
    assert.equal(answer.outcome, "updated");
    const types = await waitFor(async () => {
      const events = await second.jsonlEvents();
      return events.length >= 4 ? events.map((event) => event.type) : undefined;
    });
    assert.equal(types.filter((type) => type === "order.created").length, 1);
    await second.stop();
  });

  it("store failure answers 503 and the retry succeeds", async () => {
    const service = await startTestService();
    try {
      // A failing disk cannot be had here, so the journal's write is made to fail once.
      const journal = (
        service.store as unknown as {
          journal: { append: (record: unknown) => Promise<void> };
        }
      ).journal;
      const append = journal.append.bind(journal);
      journal.append = () => {
        journal.append = append;
        return Promise.reject(new Error("ENOSPC: no space left on device"));
      };

      const failed = await service.post(readFixture("sample-order.json"));
      assert.equal(failed.status, 503);
      assert.equal(failed.headers.get("retry-after"), "5");
      const body = (await failed.json()) as { error: string };
      assert.doesNotMatch(body.error, /ENOSPC/);

      const retried = await service.post(readFixture("sample-order.json"));
      assert.equal(retried.status, 200);
      assert.equal(
        ((await retried.json()) as { outcome: string }).outcome,
        "created",
      );
    } finally {
      await service.cleanup();
    }
  });
});

describe("service start-up", () => {
  it("port in use is a clean error", async () => {
    const first = await startTestService();
    try {
      const port = Number(new URL(first.url).port);
      const { config } = loadConfig(DEFAULT_CONFIG_PATH, adapterRegistry, {});
      const dataDir = await mkdtemp(join(tmpdir(), "bbot-port-"));
      folders.push(dataDir);
      await assert.rejects(
        startService({
          config,
          registry: adapterRegistry,
          logger: silentLogger(),
          host: "127.0.0.1",
          port,
          dataDir,
        }),
        (error: Error) => {
          assert.ok(error instanceof StartupError);
          assert.match(error.message, /the port is in use/);
          return true;
        },
      );
      // The failed start released the data folder, so it can start again.
      const again = await startTestService({ dataDir });
      await again.stop();
    } finally {
      await first.cleanup();
    }
  });
});

describe("service configuration", () => {
  it("default config loads with demo credentials", () => {
    const { config } = loadConfig(DEFAULT_CONFIG_PATH, adapterRegistry, {});
    assert.equal(config.restaurants[0]!.auth.username, "demo");
    assert.equal(
      config.restaurants[0]!.bbotRestaurantId,
      "ecde3351-606c-4971-ab5a-792bccb0e5e2",
    );
    assert.equal(config.restaurants[0]!.timeZone, "America/New_York");
  });

  it("demo credentials come from the environment", () => {
    const { config } = loadConfig(DEFAULT_CONFIG_PATH, adapterRegistry, {
      BBOT_DEMO_USER: "bbot",
      BBOT_DEMO_PASSWORD: "long-secret",
    });
    assert.deepEqual(config.restaurants[0]!.auth, {
      username: "bbot",
      password: "long-secret",
    });
  });

  it("refuses a public address with demo credentials", () => {
    const { config } = loadConfig(DEFAULT_CONFIG_PATH, adapterRegistry, {});
    assert.throws(
      () => checkExposure(config, "0.0.0.0"),
      /default credentials demo\/demo/,
    );
    assert.doesNotThrow(() => checkExposure(config, "127.0.0.1"));
    const own = loadConfig(DEFAULT_CONFIG_PATH, adapterRegistry, {
      BBOT_DEMO_PASSWORD: "x7!long",
    }).config;
    assert.doesNotThrow(() => checkExposure(own, "0.0.0.0"));
  });

  it("config errors name every problem", () => {
    const raw = demoConfig({
      restaurant: {
        timeZone: "Mars/Olympus",
        auth: { username: "demo", password: "${MISSING_SECRET}" },
        adapters: [{ name: "events", type: "carrier-pigeon" }],
      },
    });
    assert.throws(
      () => checkConfig("bad.json", raw, adapterRegistry, {}),
      (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(
          error.message,
          /restaurants\[0\]\.auth\.password: environment variable MISSING_SECRET is not set/,
        );
        assert.match(
          error.message,
          /restaurants\[0\]\.timeZone: must be an IANA time zone .* \(found "Mars\/Olympus"\)/,
        );
        assert.match(
          error.message,
          /restaurants\[0\]\.adapters\[0\]\.type: unknown adapter type; allowed: .*jsonl/,
        );
        assert.match(error.message, /^invalid config bad\.json/);
        return true;
      },
    );
  });
});

describe("config unknown keys", () => {
  it("misspelt retry key is reported", () => {
    const raw = demoConfig({
      restaurant: {
        adapters: [{ name: "events", type: "jsonl", retry: { maxAttempt: 3 } }],
      },
    });
    assert.throws(
      () => checkConfig("typo.json", raw, adapterRegistry, {}),
      /restaurants\[0\]\.adapters\[0\]\.retry: unknown key maxAttempt/,
    );
  });
});

describe("config secrets", () => {
  it("listed secrets and headers stay hidden", () => {
    const raw = demoConfig({
      restaurant: {
        adapters: [
          {
            name: "pos",
            type: "pos",
            options: {
              url: "http://127.0.0.1:9/pos",
              secrets: ["plainsecretvalue-HUNTER2"],
            },
          },
          {
            name: "books",
            type: "accounting",
            options: {
              url: "http://127.0.0.1:9/books",
              headers: { "X-Api-Key": "key-HUNTER3\r\n" },
            },
          },
        ],
      },
    });
    assert.throws(
      () => checkConfig("secret.json", raw, adapterRegistry, {}),
      (error: Error) => {
        assert.match(error.message, /options\.secrets\[0\]: must be whsec_/);
        assert.match(error.message, /options\.headers: must map header names/);
        assert.doesNotMatch(error.message, /HUNTER/);
        return true;
      },
    );
  });
});

describe("config entry rules", () => {
  it("loyalty identifier must be allowed", () => {
    const raw = demoConfig({
      restaurant: {
        adapters: [
          {
            name: "points",
            type: "loyalty",
            personalData: ["phone"],
            options: {
              baseUrl: "http://127.0.0.1:9/loyalty",
              identifyBy: "email",
            },
          },
        ],
      },
    });
    assert.throws(
      () => checkConfig("loyalty.json", raw, adapterRegistry, {}),
      /restaurants\[0\]\.adapters\[0\]\.personalData: must list "email"/,
    );
  });
});
