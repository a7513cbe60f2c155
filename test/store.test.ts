import assert from "node:assert/strict";
import {
  appendFile,
  mkdtemp,
  readdir,
  readFile,
  rm,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";

import { orderPartition } from "../src/store/keys.ts";
import { StoreCorruptError, StoreLockedError } from "../src/store/errors.ts";
import { FileStore } from "../src/store/store.ts";
import { ManualClock } from "./helpers/service.ts";

const folders: string[] = [];
after(async () => {
  for (const folder of folders)
    await rm(folder, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "bbot-store-"));
  folders.push(dir);
  return dir;
}

function storeAt(dataDir: string, clock = new ManualClock()): FileStore {
  return new FileStore({
    dataDir,
    compactIntervalMs: 60_000,
    journalMaxBytes: 1 << 20,
    partitionIdleMs: 1_000,
    clock,
  });
}

describe("file store", () => {
  it("commit survives a crash before compaction", async () => {
    const dir = await tempDir();
    const store = storeAt(dir);
    await store.open();
    await store.commit([
      {
        table: "orders",
        partition: "2026-12-04.01",
        key: "a",
        value: { total: 3078 },
      },
    ]);
    // No close(): the process "dies" with the change only in the journal.
    const segments = await readdir(join(dir, "journal"));
    assert.ok(segments.length >= 1);
    await rm(join(dir, "store.lock"));

    const reopened = storeAt(dir);
    await reopened.open();
    assert.deepEqual(await reopened.get("orders", "2026-12-04.01", "a"), {
      total: 3078,
    });
    await reopened.close();
  });

  it("compaction writes lowdb files and empties the journal", async () => {
    const dir = await tempDir();
    const store = storeAt(dir);
    await store.open();
    await store.commit([
      {
        table: "orders",
        partition: "2026-12-04.01",
        key: "a",
        value: { n: 1 },
      },
      {
        table: "orders",
        partition: "2026-12-05.02",
        key: "b",
        value: { n: 2 },
      },
    ]);
    await store.compact();

    const file = JSON.parse(
      await readFile(join(dir, "orders", "2026-12-04.01.json"), "utf8"),
    ) as { rows: unknown };
    assert.deepEqual(file.rows, { a: { n: 1 } });
    const journal = await readdir(join(dir, "journal"));
    assert.equal(journal.length, 1);
    assert.equal(
      (await readFile(join(dir, "journal", journal[0]!), "utf8")).length,
      0,
    );
    await store.close();
  });

  it("removes rows and evicts idle partitions", async () => {
    const dir = await tempDir();
    const clock = new ManualClock();
    const store = storeAt(dir, clock);
    await store.open();
    await store.commit([
      { table: "outbox", partition: "00", key: "x", value: 1 },
    ]);
    await store.commit([{ table: "outbox", partition: "00", key: "x" }]);
    assert.equal(await store.get("outbox", "00", "x"), undefined);

    await store.commit([
      { table: "events", partition: "2026-01-01.00", key: "e", value: 7 },
    ]);
    await store.compact();
    const loaded = store.loadedPartitions();
    clock.advance(5_000);
    await store.compact();
    assert.ok(store.loadedPartitions() < loaded);
    assert.equal(await store.get("events", "2026-01-01.00", "e"), 7);
    await store.close();
  });

  it("a torn last journal line is skipped", async () => {
    const dir = await tempDir();
    const store = storeAt(dir);
    await store.open();
    await store.commit([
      { table: "orders", partition: "2026-12-04.01", key: "a", value: 1 },
    ]);
    const [segment] = await readdir(join(dir, "journal"));
    await appendFile(
      join(dir, "journal", segment!),
      '{"at":1,"ops":[{"t":"orders","p":"2026-12',
    );
    await rm(join(dir, "store.lock"));

    const reopened = storeAt(dir);
    await reopened.open();
    assert.equal(await reopened.get("orders", "2026-12-04.01", "a"), 1);
    await reopened.close();
  });

  it("refuses to start on a truncated partition file", async () => {
    const dir = await tempDir();
    const store = storeAt(dir);
    await store.open();
    await store.commit([
      {
        table: "orders",
        partition: "2026-12-04.01",
        key: "a",
        value: { n: 1 },
      },
    ]);
    await store.close();

    const file = join(dir, "orders", "2026-12-04.01.json");
    const content = await readFile(file, "utf8");
    await writeFile(file, content.slice(0, content.length - 5));

    const reopened = storeAt(dir);
    await assert.rejects(reopened.open(), (error: Error) => {
      assert.ok(error instanceof StoreCorruptError);
      assert.match(error.message, /2026-12-04\.01\.json/);
      return true;
    });
    assert.equal(
      await readFile(file, "utf8"),
      content.slice(0, content.length - 5),
    );
  });

  it("refuses to start on a corrupt journal line", async () => {
    const dir = await tempDir();
    await writeFile(
      join(await mkdirp(join(dir, "journal")), "0000000001.ndjson"),
      'garbage\n{"at":1,"ops":[]}\n',
    );
    await assert.rejects(
      storeAt(dir).open(),
      /0000000001\.ndjson is corrupt: line 1/,
    );
  });

  it("refuses a data folder another process holds", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "store.lock"), String(process.ppid));
    await assert.rejects(storeAt(dir).open(), StoreLockedError);
  });
});

async function mkdirp(dir: string): Promise<string> {
  const { mkdir } = await import("node:fs/promises");
  await mkdir(dir, { recursive: true });
  return dir;
}

const SAMPLE_ORDER_ID = "bc960165-aa17-4506-abdc-0b1c26e44ff9";

describe("damaged order row", () => {
  it("answers 503 instead of crashing", async () => {
    const { startTestService } = await import("./helpers/service.ts");
    const { readFixture } = await import("./helpers/sample-events.ts");
    const dataDir = await tempDir();
    const first = await startTestService({ dataDir });
    await first.post(readFixture("sample-order.json"));
    await first.stop();

    const file = join(
      dataDir,
      "orders",
      `${orderPartition("2021-12-07", SAMPLE_ORDER_ID)}.json`,
    );
    await writeFile(
      file,
      JSON.stringify({
        rows: { "bc960165-aa17-4506-abdc-0b1c26e44ff9": { junk: true } },
      }),
    );
    const second = await startTestService({ dataDir });
    try {
      const response = await second.post(
        readFixture("lifecycle/02-accepted.json"),
      );
      assert.equal(response.status, 503);
      const logged = second.logs.lines.join("\n");
      assert.match(
        logged,
        /2021-12-07\.\w\w\.json is corrupt: the row of order/,
      );
    } finally {
      await second.stop();
    }
  });
});

describe("append-only tables", () => {
  it("events stay out of memory after compaction", async () => {
    const dir = await tempDir();
    const store = storeAt(dir);
    await store.open();
    const before = store.loadedPartitions();

    await store.commit([
      {
        table: "events",
        partition: "2026-12-04.03",
        key: "e1",
        value: { n: 1 },
      },
    ]);
    assert.equal(store.loadedPartitions(), before);
    assert.deepEqual(await store.get("events", "2026-12-04.03", "e1"), {
      n: 1,
    });
    assert.equal(store.loadedPartitions(), before);

    await store.compact();
    await store.commit([
      {
        table: "events",
        partition: "2026-12-04.03",
        key: "e2",
        value: { n: 2 },
      },
    ]);
    await store.compact();
    assert.equal(store.loadedPartitions(), before);

    const file = JSON.parse(
      await readFile(join(dir, "events", "2026-12-04.03.json"), "utf8"),
    ) as {
      rows: Record<string, unknown>;
    };
    assert.deepEqual(file.rows, { e1: { n: 1 }, e2: { n: 2 } });
    assert.deepEqual(await store.rows("events", "2026-12-04.03"), [
      ["e1", { n: 1 }],
      ["e2", { n: 2 }],
    ]);
    await store.close();
  });

  it("a removal loads the partition first", async () => {
    const dir = await tempDir();
    const store = storeAt(dir);
    await store.open();
    await store.commit([
      { table: "delivered", partition: "2026-12-04.01", key: "d1", value: 1 },
    ]);
    await store.commit([
      { table: "delivered", partition: "2026-12-04.01", key: "d2", value: 2 },
    ]);
    await store.compact();
    await store.commit([
      { table: "delivered", partition: "2026-12-04.01", key: "d1" },
    ]);
    await store.compact();

    const file = JSON.parse(
      await readFile(join(dir, "delivered", "2026-12-04.01.json"), "utf8"),
    ) as {
      rows: Record<string, unknown>;
    };
    assert.deepEqual(file.rows, { d2: 2 });
    await store.close();
  });
});

describe("journal rotation", () => {
  it("appends during rotation land cleanly", async () => {
    const { Journal } = await import("../src/store/journal.ts");
    const dir = await tempDir();
    for (let trial = 0; trial < 20; trial += 1) {
      const journal = new Journal(join(dir, `trial-${trial}`));
      await journal.open();
      await journal.append('{"n":1}');
      const rotated = journal.rotate();
      const during = journal.append('{"n":2}');
      await Promise.all([rotated, during]);
      await journal.append('{"n":3}');
      await journal.close();

      const names = (await readdir(join(dir, `trial-${trial}`))).sort();
      const text = await readFile(
        join(dir, `trial-${trial}`, names.at(-1)!),
        "utf8",
      );
      assert.ok(
        !text.includes("\u0000"),
        `trial ${trial}: the new segment has NUL bytes`,
      );
      for (const line of text.split("\n").filter((item) => item !== "")) {
        assert.doesNotThrow(
          () => JSON.parse(line),
          `trial ${trial}: ${JSON.stringify(line)}`,
        );
      }
    }
  });
});

describe("history retention", () => {
  it("old days go, needed and recent ones stay", async () => {
    const { pruneHistory } = await import("../src/orders/retention.ts");
    const dir = await tempDir();
    const clock = new ManualClock(Date.now());
    const store = storeAt(dir, clock);
    await store.open();
    await store.commit([
      { table: "orders", partition: "2026-08-01.00", key: "old", value: 1 },
      { table: "orders", partition: "2026-11-30.00", key: "recent", value: 2 },
      { table: "events", partition: "2026-08-01.00", key: "e-old", value: 3 },
      {
        table: "events",
        partition: "2026-08-02.05",
        key: "e-needed",
        value: 4,
      },
    ]);
    await store.compact();
    // Files last changed in August, and no partition left in memory.
    const august = new Date("2026-08-03T00:00:00Z");
    for (const file of [
      "orders/2026-08-01.00.json",
      "orders/2026-11-30.00.json",
      "events/2026-08-01.00.json",
      "events/2026-08-02.05.json",
    ]) {
      await utimes(join(dir, file), august, august);
    }
    clock.advance(5_000);
    await store.compact();

    const dropped = await pruneHistory(
      store,
      new Set(["2026-08-02.05"]),
      90,
      clock.now(),
    );
    assert.equal(dropped, 2);
    assert.deepEqual(await store.partitions("orders"), ["2026-11-30.00"]);
    assert.deepEqual(await store.partitions("events"), ["2026-08-02.05"]);
    await store.close();
  });

  it("old day written today is kept", async () => {
    const { pruneHistory } = await import("../src/orders/retention.ts");
    const dir = await tempDir();
    const store = storeAt(dir);
    await store.open();
    await store.commit([
      { table: "orders", partition: "2021-12-07.00", key: "late", value: 1 },
    ]);
    await store.compact();

    const dropped = await pruneHistory(store, new Set(), 90, Date.now());
    assert.equal(dropped, 0);
    assert.equal(await store.get("orders", "2021-12-07.00", "late"), 1);
    await store.close();
  });
});
