import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";

import { readFixture } from "./helpers/sample-events.ts";
import {
  startTestService,
  waitFor,
  type TestService,
} from "./helpers/service.ts";

const TOKEN = "admin-token-for-input-tests";
const CLI = fileURLToPath(new URL("../bin/bbot-bridge.js", import.meta.url));

describe("admin API input", () => {
  let service: TestService;
  before(async () => {
    service = await startTestService({ adminToken: TOKEN });
  });
  after(() => service.cleanup());

  const post = (path: string, body: string, contentType = "application/json") =>
    fetch(`${service.url}/admin${path}`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${TOKEN}`,
        "Content-Type": contentType,
      },
      body,
    });

  it("array body is rejected, not read as no filter", async () => {
    const response = await post("/deliveries/retry", "[1]");
    assert.equal(response.status, 400);
    assert.match(
      ((await response.json()) as { error: string }).error,
      /must be a JSON object/,
    );
  });

  it("form body gets 415", async () => {
    const response = await post(
      "/deliveries/retry",
      "ids=1",
      "application/x-www-form-urlencoded",
    );
    assert.equal(response.status, 415);
  });

  it("unknown body key gets 400", async () => {
    const response = await post(
      "/deliveries/retry",
      JSON.stringify({ restuarant: "demo" }),
    );
    assert.equal(response.status, 400);
    assert.match(
      ((await response.json()) as { error: string }).error,
      /unknown key "restuarant"/,
    );
  });

  it("unknown restaurant filter gets 400", async () => {
    const response = await fetch(
      `${service.url}/admin/deliveries?restaurant=nowhere`,
      {
        headers: { Authorization: `Bearer ${TOKEN}` },
      },
    );
    assert.equal(response.status, 400);
    assert.match(
      ((await response.json()) as { error: string }).error,
      /use one of: demo/,
    );
  });

  it("unknown quarantine reason gets 400", async () => {
    const response = await fetch(
      `${service.url}/admin/quarantine?reason=bogus`,
      {
        headers: { Authorization: `Bearer ${TOKEN}` },
      },
    );
    assert.equal(response.status, 400);
  });

  it("retry of an unknown id names it", async () => {
    const response = await post(
      "/deliveries/retry",
      JSON.stringify({ ids: ["dlv_nope"] }),
    );
    assert.equal(response.status, 200);
    const result = (await response.json()) as {
      matched: number;
      notFound: string[];
    };
    assert.equal(result.matched, 0);
    assert.deepEqual(result.notFound, ["dlv_nope"]);
  });

  it("retry of a delivered one needs force", async () => {
    await service.post(readFixture("sample-order.json"));
    const delivered = await waitFor(async () => {
      const response = await fetch(
        `${service.url}/admin/deliveries?status=delivered`,
        {
          headers: { Authorization: `Bearer ${TOKEN}` },
        },
      );
      const { deliveries } = (await response.json()) as {
        deliveries: { id: string }[];
      };
      return deliveries[0];
    });

    const plain = await post(
      "/deliveries/retry",
      JSON.stringify({ ids: [delivered.id] }),
    );
    const skipped = (await plain.json()) as {
      changed: string[];
      skipped: { reason: string }[];
    };
    assert.deepEqual(skipped.changed, []);
    assert.match(skipped.skipped[0]!.reason, /already delivered; pass --force/);

    const forced = await post(
      "/deliveries/retry",
      JSON.stringify({ ids: [delivered.id], force: true }),
    );
    assert.deepEqual(((await forced.json()) as { changed: string[] }).changed, [
      delivered.id,
    ]);
  });

  it("CLI exits 1 for an unknown id", async () => {
    const run = promisify(execFile);
    await assert.rejects(
      run(
        process.execPath,
        [CLI, "deliveries", "retry", "dlv_nope", "--url", service.url],
        {
          env: { ...process.env, BBOT_BRIDGE_ADMIN_TOKEN: TOKEN },
        },
      ),
      (error: { code: number; stdout: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stdout, /not found: dlv_nope/);
        return true;
      },
    );
  });
});
