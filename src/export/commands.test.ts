import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";

import { bodyParser } from "@koa/bodyparser";
import { Router } from "@koa/router";
import Koa from "koa";

import { AdminClient } from "../cli/admin-client.ts";
import { silentLogger } from "../logger.ts";
import {
  demoRestaurant,
  readFixture,
} from "../../test/helpers/sample-events.ts";
import { runExportCommand, runTotalsCommand, urlFlagOf } from "./commands.ts";
import { registerExportRoutes } from "./routes.ts";
import { ExportService } from "./service.ts";
import { openTestStore, testAccounts, type TestStore } from "./testing.ts";

/** Runs `run` against a service holding the sample order, with its export routes under /admin on 127.0.0.1. */
async function withAdmin(
  run: (input: {
    client: AdminClient;
    test: TestStore;
    url: string;
  }) => Promise<void>,
): Promise<void> {
  const test = await openTestStore();
  const restaurant = demoRestaurant({
    export: { accounts: testAccounts(), formats: ["qbo-csv"] },
  });
  await test.receive(
    readFixture("sample-order.json"),
    restaurant,
    "2021-12-08T00:53:53Z",
  );
  test.clock.set("2021-12-08T11:00:00Z");
  const service = new ExportService({
    store: test.store,
    restaurants: [restaurant],
    dataDir: test.dataDir,
    clock: test.clock,
    logger: silentLogger(),
  });

  const router = new Router({ prefix: "/admin" });
  registerExportRoutes(router, service);
  const app = new Koa();
  app.use(bodyParser());
  app.use(router.routes());
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await run({ client: new AdminClient({ url, token: "test" }), test, url });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await test.close();
  }
}

function collect(): { lines: string[]; out: (line: string) => void } {
  const lines: string[] = [];
  return { lines, out: (line) => lines.push(line) };
}

const unreachable = new AdminClient({ url: "http://127.0.0.1:9", token: "x" });

describe("export command", () => {
  it("prints usage for --help", async () => {
    const { lines, out } = collect();
    assert.equal(await runExportCommand(["--help"], unreachable, out), 0);
    assert.match(lines[0]!, /^Usage: bbot-bridge export --restaurant ID/);
  });

  it("bad flags exit 2 naming the flag", async () => {
    const cases: [string[], RegExp][] = [
      [["--date", "2021-12-07"], /missing --restaurant/],
      [["--restaurant", "demo"], /missing --date/],
      [
        ["--restaurant", "demo", "--date", "2021-12-32"],
        /invalid --date 2021-12-32/,
      ],
      [
        ["--restaurant", "demo", "--date", "2021-12-07", "--format", "pdf"],
        /invalid --format pdf: use one of qbo-csv, xero-csv, iif, json/,
      ],
      [["--restaurant", "demo", "--bogus"], /Unknown option '--bogus'.*--help/],
    ];
    for (const [argv, message] of cases) {
      const { lines, out } = collect();
      assert.equal(
        await runExportCommand(argv, unreachable, out),
        2,
        argv.join(" "),
      );
      assert.match(lines.join("\n"), message);
    }
  });

  it("dry run then export over the admin API", async () => {
    await withAdmin(async ({ client }) => {
      const argv = ["--restaurant", "demo", "--date", "2021-12-07"];
      const preview = collect();
      assert.equal(
        await runExportCommand([...argv, "--dry-run"], client, preview.out),
        0,
      );
      assert.match(
        preview.lines[0]!,
        /^Dry run: would write day entry demo-20211207-1/,
      );
      assert.ok(
        preview.lines.some((line) => /Card Clearing\s+30\.78/.test(line)),
      );

      const written = collect();
      assert.equal(
        await runExportCommand([...argv, "--json"], client, written.out),
        0,
      );
      const result = JSON.parse(written.lines.join("\n"));
      assert.equal(result.status, "written");
      assert.equal(result.files[0].name, "demo_2021-12-07_r1.qbo.csv");

      const again = collect();
      assert.equal(
        await runExportCommand([...argv, "--force"], client, again.out),
        0,
      );
      assert.match(again.lines[0]!, /has not changed since revision 1/);
    });
  });

  it("service rejection exits 1", async () => {
    await withAdmin(async ({ client }) => {
      const { lines, out } = collect();
      const code = await runExportCommand(
        ["--restaurant", "demo", "--date", "2021-12-08"],
        client,
        out,
      );
      assert.equal(code, 1);
      assert.match(lines[0]!, /not finished yet/);
    });
  });
});

describe("url flag", () => {
  it("reads --url before other checks", () => {
    assert.equal(
      urlFlagOf(["--url", "http://127.0.0.1:4000", "--bogus"]),
      "http://127.0.0.1:4000",
    );
    assert.equal(urlFlagOf(["--restaurant", "demo"]), undefined);
  });
});

describe("totals command", () => {
  it("prints a readable table", async () => {
    await withAdmin(async ({ client }) => {
      const { lines, out } = collect();
      assert.equal(
        await runTotalsCommand(
          ["--restaurant", "demo", "--date", "2021-12-07"],
          client,
          out,
        ),
        0,
      );
      assert.equal(
        lines[0],
        "Totals of demo for business date 2021-12-07 (USD)",
      );
      const text = lines.join("\n");
      assert.match(text, /Gross sales\s+23\.88/);
      assert.match(text, /Sales tax\s+2\.12/);
      assert.match(text, /Tips\s+4\.78/);
      assert.match(text, /Total collected\s+30\.78/);
      assert.match(text, /Visa\s+1\s+30\.78\s+0\s+0\.00/);
      assert.match(text, /runner_with_cc\s+1\s+30\.78/);
    });
  });

  it("unknown restaurant exits 1", async () => {
    await withAdmin(async ({ client }) => {
      const { lines, out } = collect();
      const code = await runTotalsCommand(
        ["--restaurant", "nowhere", "--date", "2021-12-07", "--json"],
        client,
        out,
      );
      assert.equal(code, 1);
      assert.match(lines[0]!, /unknown restaurant "nowhere"/);
    });
  });
});

describe("export routes", () => {
  it("validate the request body", async () => {
    await withAdmin(async ({ url }) => {
      const response = await fetch(`${url}/admin/exports/demo/2021-12-07`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ force: "yes" }),
      });
      assert.equal(response.status, 400);
      assert.deepEqual(await response.json(), {
        error: 'invalid force "yes"; expected true or false',
      });
    });
  });

  it("ledger row after export", async () => {
    await withAdmin(async ({ url }) => {
      const missing = await fetch(`${url}/admin/exports/demo/2021-12-07`);
      assert.equal(missing.status, 404);
      const run = await fetch(`${url}/admin/exports/catch-up`, {
        method: "POST",
      });
      assert.equal(run.status, 200);
      const ledger = await fetch(`${url}/admin/exports/demo/2021-12-07`);
      assert.equal(ledger.status, 200);
      const body = (await ledger.json()) as { revision: number; key?: string };
      assert.equal(body.revision, 1);
    });
  });
});
