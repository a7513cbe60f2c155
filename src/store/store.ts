import { mkdir, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";

import type { Clock } from "../delivery/contract.ts";
import { StoreLockedError, StoreUnavailableError } from "./errors.ts";
import { Journal, syncDirectory } from "./journal.ts";
import { isPartitionName, PartitionedTable } from "./table.ts";

/** The store's tables. Each row lives in one partition of its table. */
export const TABLE_NAMES = [
  "orders",
  "events",
  "outbox",
  "delivered",
  "quarantine",
  "adapterState",
  "exports",
] as const;

export type TableName = (typeof TABLE_NAMES)[number];

/**
 * Tables whose rows are written once and seldom read back: their new rows never load a
 * partition, so a busy day's events and finished deliveries do not stay in memory.
 */
const APPEND_ONLY_TABLES: ReadonlySet<TableName> = new Set([
  "events",
  "delivered",
]);

/** One change of a commit: a row written, or removed when `value` is undefined. */
export interface StoreOp {
  table: TableName;
  partition: string;
  key: string;
  value?: unknown;
}

/**
 * The storage contract the rest of the service uses: rows by table, partition and key, and
 * atomic durable commits. The file store below implements it on lowdb files; a database
 * store can implement the same calls.
 */
export interface Store {
  open(): Promise<void>;
  close(): Promise<void>;
  get<T>(
    table: TableName,
    partition: string,
    key: string,
  ): Promise<T | undefined>;
  rows<T>(table: TableName, partition: string): Promise<[string, T][]>;
  partitions(table: TableName): Promise<string[]>;
  /** Applies every change or none, and resolves only once they are flushed to disk. */
  commit(ops: readonly StoreOp[]): Promise<void>;
  dropPartition(table: TableName, partition: string): Promise<void>;
  /**
   * Deletes a partition that nothing has changed since `unchangedSince` (epoch ms) and that
   * is not in use. Returns whether it was deleted.
   */
  dropStalePartition(
    table: TableName,
    partition: string,
    unchangedSince: number,
  ): Promise<boolean>;
  /** Checks that the store can take a write now. */
  isWritable(): Promise<boolean>;
}

/** Tuning of the file store; see the `store` section of the config for units and defaults. */
export interface FileStoreOptions {
  dataDir: string;
  compactIntervalMs: number;
  journalMaxBytes: number;
  partitionIdleMs: number;
  clock: Clock;
  /** Called with each commit's duration until flushed, in milliseconds, for metrics. */
  onCommit?: (durationMs: number) => void;
  /** Called with each compaction's figures, for metrics and logs. */
  onCompaction?: (stats: CompactionStats) => void;
  onError?: (error: Error) => void;
}

export interface CompactionStats {
  partitionsWritten: number;
  partitionsEvicted: number;
  durationMs: number;
}

interface JournalRecord {
  at: number;
  ops: { t: TableName; p: string; k: string; v?: unknown }[];
}

/**
 * The file store: an append-only journal with group commit for durability, compacted in the
 * background into lowdb partition files, so a write's cost depends on the request and not on
 * the history kept. Start-up replays the journal and reads no partition it does not touch.
 */
export class FileStore implements Store {
  private readonly journal: Journal;
  private readonly tables = new Map<TableName, PartitionedTable>();
  private readonly inflight = new Set<Promise<void>>();
  private compacting: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private opened = false;
  private lockFile: string;

  constructor(private readonly options: FileStoreOptions) {
    this.journal = new Journal(join(options.dataDir, "journal"));
    this.lockFile = join(options.dataDir, "store.lock");
    for (const name of TABLE_NAMES) {
      this.tables.set(
        name,
        new PartitionedTable(
          name,
          join(options.dataDir, name),
          APPEND_ONLY_TABLES.has(name),
        ),
      );
    }
  }

  async open(): Promise<void> {
    await mkdir(this.options.dataDir, { recursive: true });
    await this.acquireLock();
    try {
      for (const table of this.tables.values()) {
        await mkdir(table.dir, { recursive: true });
        await table.checkFiles();
      }
      await this.replayJournal();
    } catch (error) {
      await this.releaseLock();
      throw error;
    }

    this.opened = true;
    this.timer = setInterval(
      () => void this.compact().catch(() => undefined),
      this.options.compactIntervalMs,
    );
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (!this.opened) return;
    this.opened = false;
    clearInterval(this.timer);
    await Promise.allSettled([...this.inflight]);
    await this.compact();
    await this.journal.close();
    await this.releaseLock();
  }

  async get<T>(
    table: TableName,
    partition: string,
    key: string,
  ): Promise<T | undefined> {
    return (await this.table(table).get(
      partition,
      key,
      this.options.clock.now(),
    )) as T | undefined;
  }

  async rows<T>(table: TableName, partition: string): Promise<[string, T][]> {
    return (await this.table(table).rows(
      partition,
      this.options.clock.now(),
    )) as [string, T][];
  }

  partitions(table: TableName): Promise<string[]> {
    return this.table(table).partitions();
  }

  async commit(ops: readonly StoreOp[]): Promise<void> {
    if (!this.opened) throw new StoreUnavailableError("the store is closed");
    if (ops.length === 0) return;

    const started = performance.now();
    const touched = await this.loadTouched(ops);
    const values = ops.map((op) =>
      op.value === undefined ? undefined : JSON.stringify(op.value),
    );

    const write = this.journal
      .append(journalLine(this.options.clock.now(), ops, values))
      .then(
        () => this.apply(ops, values),
        (error: Error) => {
          throw new StoreUnavailableError(error.message, { cause: error });
        },
      );
    this.inflight.add(write);
    try {
      await write;
      this.options.onCommit?.(performance.now() - started);
    } finally {
      this.inflight.delete(write);
      for (const [table, partition] of touched)
        this.table(table).unpin(partition);
    }

    if (this.journal.currentSize >= this.options.journalMaxBytes) {
      void this.compact().catch(() => undefined);
    }
  }

  async dropPartition(table: TableName, partition: string): Promise<void> {
    await this.table(table).drop(partition);
  }

  dropStalePartition(
    table: TableName,
    partition: string,
    unchangedSince: number,
  ): Promise<boolean> {
    return this.table(table).dropIfUnchanged(partition, unchangedSince);
  }

  async isWritable(): Promise<boolean> {
    if (!this.opened) return false;
    const probe = join(this.options.dataDir, ".write-probe");
    try {
      const handle = await open(probe, "w");
      await handle.close();
      await rm(probe, { force: true });
      return true;
    } catch {
      return false;
    }
  }

  /** Partitions in memory, for metrics. */
  loadedPartitions(): number {
    let count = 0;
    for (const table of this.tables.values()) count += table.loadedCount;
    return count;
  }

  /**
   * Writes the changed partitions and deletes the journal segments they cover. Only one
   * compaction runs at a time; a call during one waits for it and returns.
   */
  compact(): Promise<void> {
    this.compacting ??= this.runCompaction()
      .catch((error: Error) => {
        this.options.onError?.(error);
        throw error;
      })
      .finally(() => {
        this.compacting = undefined;
      });
    return this.compacting;
  }

  private async runCompaction(): Promise<void> {
    const started = performance.now();
    const hasDirty = [...this.tables.values()].some(
      (table) => table.dirtyPartitions().length > 0,
    );

    let written = 0;
    if (hasDirty || this.journal.currentSize > 0) {
      const segments = await this.journal.rotate();
      // Commits written to the old segments must be in memory before their partitions are written.
      await Promise.allSettled([...this.inflight]);

      for (const table of this.tables.values()) {
        for (const partition of table.dirtyPartitions()) {
          await table.flush(partition);
          written += 1;
          // Serializing one partition blocks the event loop; let requests in between two.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        await syncDirectory(table.dir);
      }
      await this.journal.discard(segments);
    }

    let evicted = 0;
    const now = this.options.clock.now();
    for (const table of this.tables.values())
      evicted += table.evictIdle(now, this.options.partitionIdleMs);

    this.options.onCompaction?.({
      partitionsWritten: written,
      partitionsEvicted: evicted,
      durationMs: performance.now() - started,
    });
  }

  private table(name: TableName): PartitionedTable {
    const table = this.tables.get(name);
    if (!table) throw new RangeError(`unknown table ${name}`);
    return table;
  }

  private async loadTouched(
    ops: readonly StoreOp[],
  ): Promise<[TableName, string][]> {
    const touched = new Map<string, [TableName, string]>();
    const removals = new Set<string>();
    for (const op of ops) {
      if (!isPartitionName(op.partition)) {
        throw new RangeError(
          `invalid partition name ${JSON.stringify(op.partition)} for table ${op.table}`,
        );
      }
      touched.set(`${op.table}/${op.partition}`, [op.table, op.partition]);
      if (op.value === undefined) removals.add(`${op.table}/${op.partition}`);
    }

    const now = this.options.clock.now();
    for (const [key, [table, partition]] of touched) {
      await this.table(table).load(partition, now, removals.has(key));
      this.table(table).pin(partition);
    }
    return [...touched.values()];
  }

  private apply(
    ops: readonly StoreOp[],
    values: readonly (string | undefined)[],
  ): void {
    ops.forEach((op, index) => {
      const table = this.table(op.table);
      const value = values[index];
      if (value === undefined) table.remove(op.partition, op.key);
      else table.put(op.partition, op.key, value);
    });
  }

  private async replayJournal(): Promise<void> {
    const segments = await this.journal.open();
    const now = this.options.clock.now();
    let replayed = 0;

    for (const segment of segments) {
      for (const record of segment.records as JournalRecord[]) {
        for (const op of record.ops) {
          await this.table(op.t).load(op.p, now, op.v === undefined);
          if (op.v === undefined) this.table(op.t).remove(op.p, op.k);
          else this.table(op.t).put(op.p, op.k, JSON.stringify(op.v));
        }
        replayed += 1;
      }
    }

    if (replayed > 0 || segments.length > 1) await this.runCompaction();
  }

  private async acquireLock(): Promise<void> {
    try {
      const handle = await open(this.lockFile, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }

    const holder = Number(
      (await readFile(this.lockFile, "utf8").catch(() => "")).trim(),
    );
    if (
      Number.isInteger(holder) &&
      holder > 0 &&
      holder !== process.pid &&
      isAlive(holder)
    ) {
      throw new StoreLockedError(
        `data folder ${this.options.dataDir} is in use by process ${holder}; stop it first, or give this one another BBOT_BRIDGE_DATA_DIR`,
      );
    }
    // NOTE: a lock left by a killed process is taken over. If the system has since given its
    // pid to an unrelated live process, the lock is wrongly seen as held.
    await rm(this.lockFile, { force: true });
    await this.acquireLock();
  }

  private async releaseLock(): Promise<void> {
    await rm(this.lockFile, { force: true });
  }
}

/**
 * Builds the journal line of a commit, the JSON of a `JournalRecord`, around each value's
 * JSON text, so every value is serialized once for both the journal and the table. Like
 * `JSON.stringify`, it leaves out `v` when the value is undefined.
 */
function journalLine(
  at: number,
  ops: readonly StoreOp[],
  values: readonly (string | undefined)[],
): string {
  const parts = ops.map((op, index) => {
    const head = `{"t":${JSON.stringify(op.table)},"p":${JSON.stringify(op.partition)},"k":${JSON.stringify(op.key)}`;
    const value = values[index];
    return value === undefined ? `${head}}` : `${head},"v":${value}}`;
  });
  return `{"at":${at},"ops":[${parts.join(",")}]}`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
