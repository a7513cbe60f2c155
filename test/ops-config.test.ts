import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { adapterRegistry } from "../adapters/index.ts";
import { COMMAND_NAMES, main } from "../src/cli/main.ts";
import {
  ConfigError,
  checkConfig,
  loadConfig,
  type ConfigProblem,
} from "../src/config/load.ts";
import { demoConfig } from "./helpers/service.ts";

const CONFIG_DIR = fileURLToPath(new URL("../config/", import.meta.url));

/** Environment the example configs refer to, with made-up values. */
const EXAMPLE_ENV = {
  HARBOR_BBOT_RESTAURANT_ID: "ecde3351-606c-4971-ab5a-792bccb0e5e2",
  HARBOR_WEBHOOK_USER: "harbor",
  HARBOR_WEBHOOK_PASSWORD: "example-password",
  HARBOR_SLACK_BOT_TOKEN: "xoxb-example",
  HARBOR_SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T0/B0/X",
  HARBOR_POS_URL: "https://pos.example.com/bbot",
  HARBOR_POS_SIGNING_SECRET: `whsec_${Buffer.alloc(32, 7).toString("base64")}`,
  HARBOR_LOYALTY_URL: "https://loyalty.example.com/api",
  HARBOR_ACCOUNTING_URL: "https://books.example.com/journal-entries",
  HARBOR_ACCOUNTING_TOKEN: "example-token",
  MESA_WEBHOOK_USER: "mesa",
  MESA_WEBHOOK_PASSWORD: "example-password-2",
  MESA_SQUARE_ACCESS_TOKEN: "EAAA-example",
  MESA_SQUARE_LOCATION_ID: "L0CATI0N",
  ROOFTOP_BBOT_RESTAURANT_ID: "7a8c1a52-1111-4f4e-9d7e-2a1f0c3b9e10",
  ROOFTOP_WEBHOOK_USER: "rooftop",
  ROOFTOP_WEBHOOK_PASSWORD: "example-password-3",
};

function problemsOf(
  raw: unknown,
  env: NodeJS.ProcessEnv = {},
): ConfigProblem[] {
  try {
    checkConfig("test.json", raw, adapterRegistry, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail("the config was accepted");
}

function problemAt(problems: ConfigProblem[], path: string): ConfigProblem {
  const problem = problems.find((item) => item.path === path);
  assert.ok(
    problem,
    `no problem at ${path}; found ${problems.map((item) => item.path).join(", ")}`,
  );
  return problem;
}

/** Builds a config with one mistake of each kind. */
function brokenConfig() {
  return demoConfig({
    restaurant: {
      timeZone: "Mars/Olympus",
      timezone: "UTC",
      businessDayCutoffHour: 30,
      auth: { username: "demo", password: "${MISSING_PASSWORD}" },
      adapters: [
        { name: "file", type: "jsonl", options: { path: "x", colour: 1 } },
        { name: "chat", type: "teams" },
      ],
    },
    top: { logging: { level: "loud" }, dataDirectory: "./data" },
  });
}

describe("config validation", () => {
  it("reports every problem in one error", () => {
    const problems = problemsOf(brokenConfig());
    assert.ok(problems.length >= 7, JSON.stringify(problems));
  });

  it("names the path, value and allowed values", () => {
    const problems = problemsOf(brokenConfig());
    const level = problemAt(problems, "logging.level");
    assert.equal(level.value, "loud");
    assert.match(level.message, /debug/);
    const zone = problemAt(problems, "restaurants[0].timeZone");
    assert.equal(zone.value, "Mars/Olympus");
    assert.match(zone.message, /IANA time zone/);
    const cutoff = problemAt(problems, "restaurants[0].businessDayCutoffHour");
    assert.equal(cutoff.value, 30);
    const type = problemAt(problems, "restaurants[0].adapters[1].type");
    assert.match(type.message, /allowed: .*jsonl/);
  });

  it("names an unset environment variable once", () => {
    const problems = problemsOf(brokenConfig());
    const password = problems.filter(
      (item) => item.path === "restaurants[0].auth.password",
    );
    assert.equal(password.length, 1);
    assert.match(password[0]!.message, /MISSING_PASSWORD is not set/);
  });

  it("rejects unknown keys with the allowed ones", () => {
    const problems = problemsOf(brokenConfig());
    assert.match(problemAt(problems, "dataDirectory").message, /dataDir/);
    assert.match(
      problemAt(problems, "restaurants[0].timezone").message,
      /allowed here: .*timeZone/,
    );
    assert.match(
      problemAt(problems, "restaurants[0].adapters[0].options").message,
      /unknown key colour; allowed: path/,
    );
  });

  it("resolves environment references", () => {
    const config = checkConfig(
      "test.json",
      demoConfig({
        restaurant: { auth: { username: "u", password: "${HOOK_PASSWORD}" } },
      }),
      adapterRegistry,
      { HOOK_PASSWORD: "from-env" },
    );
    assert.equal(config.restaurants[0]!.auth.password, "from-env");
  });

  it("hides secrets in error messages", () => {
    const raw = demoConfig({
      restaurant: { auth: { username: "u", password: "${HOOK_PASSWORD}" } },
      top: { logging: { level: "${LEVEL}" } },
    });
    let message = "";
    try {
      checkConfig("test.json", raw, adapterRegistry, {
        HOOK_PASSWORD: "short",
        LEVEL: "secret-level-value",
      });
    } catch (error) {
      message = (error as Error).message;
    }
    assert.match(message, /logging\.level/);
    assert.ok(!message.includes("secret-level-value"), message);
    assert.match(message, /"\$\{LEVEL\}" after resolving/);
  });

  it("accepts the shipped configs", () => {
    for (const name of [
      "default.json",
      "example-full.json",
      "example-multi.json",
    ]) {
      const { config } = loadConfig(
        join(CONFIG_DIR, name),
        adapterRegistry,
        EXAMPLE_ENV,
      );
      assert.ok(config.restaurants.length > 0, name);
    }
  });

  it("uses every registered adapter type in the full example", () => {
    const { config } = loadConfig(
      join(CONFIG_DIR, "example-full.json"),
      adapterRegistry,
      EXAMPLE_ENV,
    );
    const types = new Set(config.restaurants[0]!.adapters.map((a) => a.type));
    for (const type of adapterRegistry.keys()) assert.ok(types.has(type), type);
  });
});

describe("check-config command", () => {
  let dir: string;
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      argv,
      (text) => out.push(text),
      (text) => err.push(text),
    );
    return { code, out: out.join("\n"), err: err.join("\n") };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bbot-ops-config-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("summarizes a valid file", async () => {
    const file = join(dir, "good.json");
    await writeFile(file, JSON.stringify(demoConfig()));
    const result = await run(["check-config", file]);
    assert.equal(result.code, 0, result.err);
    assert.match(result.out, /is valid: 1 restaurant, 1 adapter/);
    assert.match(result.out, /restaurant demo \(Demo Bistro\)/);
    assert.match(result.out, /adapter events-file \(jsonl\): \*/);
  });

  it("lists every problem and exits 1", async () => {
    const file = join(dir, "bad.json");
    await writeFile(file, JSON.stringify(brokenConfig()));
    const result = await run(["check-config", file]);
    assert.equal(result.code, 1);
    assert.match(
      result.err,
      new RegExp(
        `invalid config ${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`,
      ),
    );
    assert.match(result.err, /logging\.level: .* \(found "loud"\)/);
    assert.match(result.err, /restaurants\[0\]\.timezone: unknown key/);
  });

  it("reports invalid JSON and a missing file", async () => {
    const file = join(dir, "broken.json");
    await writeFile(file, "{ not json");
    assert.match((await run(["check-config", file])).err, /invalid JSON/);
    assert.match(
      (await run(["check-config", join(dir, "absent.json")])).err,
      /file not found/,
    );
  });

  it("prints help for every command", async () => {
    for (const name of COMMAND_NAMES) {
      const result = await run([name, "--help"]);
      assert.equal(result.code, 0, name);
      assert.match(result.out, new RegExp(`Usage: bbot-bridge ${name}`), name);
    }
  });
});
