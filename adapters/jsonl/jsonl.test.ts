import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { it } from "node:test";

import {
  describeAdapterContract,
  deliveryContext,
} from "../../test/helpers/adapter-contract.ts";
import { jsonlAdapter } from "./index.ts";

describeAdapterContract({
  factory: jsonlAdapter,
  hasPermanentFailures: false,
  async setup(dataDir) {
    const file = join(dataDir, "out", "events.jsonl");
    let broken = false;
    return {
      options: { path: file },
      destination: {
        async received() {
          const text = await readFile(file, "utf8").catch(() => "");
          return text.split("\n").filter((line) => line !== "");
        },
        fail(kind) {
          // A folder where the file should be makes every append fail until it is removed.
          if (kind && !broken) {
            broken = true;
            mkdirSync(file, { recursive: true });
          }
        },
        async close() {},
      },
    };
  },
});

it("jsonl appends one line per event with its idempotency key", async () => {
  const { mkdtemp } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const dir = await mkdtemp(join(tmpdir(), "bbot-jsonl-"));
  await writeFile(join(dir, "events.jsonl"), "");
  const adapter = jsonlAdapter.create(
    jsonlAdapter.optionsSchema.validateSync({}),
    {
      dataDir: dir,
    } as never,
  );
  const event = { id: "evt_1", type: "order.closed" } as never;
  await adapter.handle(event, deliveryContext({ idempotencyKey: "key-1" }));
  await adapter.handle(event, deliveryContext({ idempotencyKey: "key-2" }));
  const lines = (await readFile(join(dir, "events.jsonl"), "utf8"))
    .trim()
    .split("\n");
  assert.equal(lines.length, 2);
  assert.equal(JSON.parse(lines[0]!).idempotencyKey, "key-1");
  assert.equal(JSON.parse(lines[1]!).type, "order.closed");
});

it("jsonl options reject unknown keys", () => {
  assert.throws(
    () => jsonlAdapter.optionsSchema.validateSync({ colour: "blue" }),
    /unknown key colour; allowed: path/,
  );
});
