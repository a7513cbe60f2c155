import { open, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Low } from "lowdb";
import { DataFile, TextFile } from "lowdb/node";

import { StoreCorruptError } from "./errors.ts";

/** The JSON document of one partition file. */
export interface PartitionDocument<T> {
  rows: Record<string, T>;
}

/** A partition's rows in memory: each row's value as the compact JSON text it is stored as. */
type RowTexts = Map<string, string>;

interface LoadedPartition {
  db: Low<RowTexts>;
  dirty: boolean;
  lastUsed: number;
  pins: number;
}

const PARTITION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Tells whether a string can name a partition file. */
export function isPartitionName(name: string): boolean {
  return PARTITION_NAME.test(name) && !name.includes("..");
}

/**
 * One table of the store: rows by key, spread over partition files that lowdb reads and
 * writes as compact JSON (`<data>/<table>/<partition>.json`). Only partitions in use stay in
 * memory. There each row is kept as the JSON text the journal already wrote, so writing a
 * partition joins texts instead of serializing objects again, and a busy day's file is
 * written without one long `JSON.stringify` blocking the event loop. Rows change in
 * memory through `put` and `remove`; `flush` writes the changed partitions, which the store
 * does during compaction, never on the request path.
 */
export class PartitionedTable {
  private readonly loaded = new Map<string, LoadedPartition>();
  private readonly loading = new Map<string, Promise<LoadedPartition>>();
  /** Append-only tables: rows written to partitions that are not loaded, until written out. */
  private readonly appended = new Map<string, RowTexts>();
  /** Append-only tables: rows being written out right now, still visible to readers. */
  private readonly appending = new Map<string, RowTexts>();
  /** Append-only tables: writes of waiting rows in progress, which a load waits for. */
  private readonly appendWrites = new Map<string, Promise<void>>();

  /**
   * `appendOnly` suits tables whose rows are written once and rarely read again, such as
   * events and finished deliveries. A new row then does not load its partition. It waits in
   * memory until compaction appends it to the file, and then leaves memory.
   */
  constructor(
    readonly name: string,
    readonly dir: string,
    readonly appendOnly = false,
  ) {}

  /** Lists partitions on disk and in memory. */
  async partitions(): Promise<string[]> {
    const names = new Set([...this.loaded.keys(), ...this.appended.keys()]);
    for (const file of await readdir(this.dir).catch(() => [] as string[])) {
      if (file.endsWith(".json")) names.add(file.slice(0, -".json".length));
    }
    return [...names].sort();
  }

  /**
   * Checks that every partition file ends like a complete JSON document, without parsing it,
   * so a file cut short is found at start-up rather than when an old day is next read.
   */
  async checkFiles(): Promise<void> {
    for (const partition of await this.partitions()) {
      const file = this.fileOf(partition);
      const size = (await stat(file).catch(() => undefined))?.size;
      if (size === undefined) continue;
      if (size === 0) throw new StoreCorruptError(file, "the file is empty");

      const handle = await open(file, "r");
      try {
        const tail = Buffer.alloc(Math.min(16, size));
        await handle.read(tail, 0, tail.length, size - tail.length);
        if (!tail.toString("utf8").trimEnd().endsWith("}")) {
          throw new StoreCorruptError(
            file,
            "the file ends before its JSON document does",
          );
        }
      } finally {
        await handle.close();
      }
    }
  }

  /**
   * Prepares a partition for a change: loads it (once, however many callers ask at the same
   * time). An append-only table loads it only for a removal, since a new row can wait apart.
   */
  async load(partition: string, now: number, forRemoval = true): Promise<void> {
    if (this.appendOnly && !forRemoval) return;
    await this.loadPartition(partition, now);
  }

  /** Reads a row, loading its partition when needed. Each call returns a fresh copy. */
  async get(partition: string, key: string, now: number): Promise<unknown> {
    const waiting =
      this.appended.get(partition)?.get(key) ??
      this.appending.get(partition)?.get(key);
    if (waiting !== undefined && !this.loaded.has(partition)) {
      return parseRow(waiting);
    }
    const loaded = await this.loadPartition(partition, now);
    return parseRow(loaded.db.data.get(key));
  }

  /** Returns every row of a partition, loading it when needed. */
  async rows(partition: string, now: number): Promise<[string, unknown][]> {
    const loaded = await this.loadPartition(partition, now);
    return [...loaded.db.data].map(([key, text]) => [key, JSON.parse(text)]);
  }

  /** Keeps a loaded partition in memory until `unpin`, while a commit depends on it. */
  pin(partition: string): void {
    const loaded = this.loaded.get(partition);
    if (loaded) loaded.pins += 1;
  }

  unpin(partition: string): void {
    const loaded = this.loaded.get(partition);
    if (loaded) loaded.pins = Math.max(0, loaded.pins - 1);
  }

  /**
   * Writes a row, given as the compact JSON text of its value, into a loaded partition.
   * Throws when the partition is not in memory.
   */
  put(partition: string, key: string, json: string): void {
    const loaded = this.loaded.get(partition);
    if (!loaded && this.appendOnly) {
      let rows = this.appended.get(partition);
      if (!rows) this.appended.set(partition, (rows = new Map()));
      rows.set(key, json);
      return;
    }
    const target = loaded ?? this.requireLoaded(partition);
    target.db.data.set(key, json);
    target.dirty = true;
  }

  /** Removes a row from a loaded partition. Throws when the partition is not in memory. */
  remove(partition: string, key: string): void {
    const loaded = this.requireLoaded(partition);
    if (loaded.db.data.delete(key)) loaded.dirty = true;
  }

  /** Partitions changed in memory since their last write. */
  dirtyPartitions(): string[] {
    const dirty = [...this.loaded]
      .filter(([, loaded]) => loaded.dirty)
      .map(([name]) => name);
    return [...new Set([...dirty, ...this.appended.keys()])];
  }

  /**
   * Writes one changed partition through lowdb and flushes it to disk. lowdb writes a
   * temporary file and renames it but does not call fsync, so this does.
   */
  async flush(partition: string): Promise<void> {
    // A load in progress merges the waiting rows itself; let it finish first.
    await this.loading.get(partition)?.catch(() => undefined);
    const loaded = this.loaded.get(partition);
    if (!loaded) {
      const write = this.appendRows(partition);
      this.appendWrites.set(
        partition,
        write.catch(() => undefined),
      );
      try {
        await write;
      } finally {
        this.appendWrites.delete(partition);
      }
      return;
    }
    if (!loaded.dirty) return;

    loaded.dirty = false;
    try {
      await loaded.db.write();
      const handle = await open(this.fileOf(partition), "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      loaded.dirty = true;
      throw error;
    }
  }

  /** Drops clean, unpinned partitions that have not been used for `idleMs`. */
  evictIdle(now: number, idleMs: number): number {
    let evicted = 0;
    for (const [name, loaded] of this.loaded) {
      if (
        !loaded.dirty &&
        loaded.pins === 0 &&
        now - loaded.lastUsed >= idleMs
      ) {
        this.loaded.delete(name);
        evicted += 1;
      }
    }
    return evicted;
  }

  /**
   * Appends the rows waiting for a partition that is not loaded to its file. The file is
   * written through lowdb's text adapter with the rows spliced before its closing braces, so
   * the file is never parsed. A key written again appears twice in the file; JSON readers,
   * lowdb included, take the last one, and the next full write keeps only that.
   */
  private async appendRows(partition: string): Promise<void> {
    const rows = this.appended.get(partition);
    if (!rows) return;
    this.appended.delete(partition);
    this.appending.set(partition, rows);

    const file = this.fileOf(partition);
    try {
      const adapter = new TextFile(file);
      const existing = await adapter.read();
      await adapter.write(appendToDocument(existing, rows, file));
      const handle = await open(file, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      // Keep the rows waiting for the next compaction, behind any written since.
      const newer = this.appended.get(partition) ?? new Map();
      this.appended.set(partition, new Map([...rows, ...newer]));
      throw error;
    } finally {
      this.appending.delete(partition);
    }
  }

  /**
   * Deletes a partition's file if nothing changed it since `unchangedSince` (epoch ms) and it is
   * not in use: not loaded, being loaded or waiting for rows. Returns whether it was deleted.
   */
  async dropIfUnchanged(
    partition: string,
    unchangedSince: number,
  ): Promise<boolean> {
    const inUse =
      this.loaded.has(partition) ||
      this.loading.has(partition) ||
      this.appended.has(partition) ||
      this.appending.has(partition);
    if (inUse) return false;
    const file = this.fileOf(partition);
    const modified = (await stat(file).catch(() => undefined))?.mtimeMs;
    if (modified === undefined || modified >= unchangedSince) return false;
    await rm(file, { force: true });
    return true;
  }

  /** Deletes a partition from memory and disk, for retention pruning. */
  async drop(partition: string): Promise<void> {
    this.appended.delete(partition);
    this.loaded.delete(partition);
    await rm(this.fileOf(partition), { force: true });
  }

  get loadedCount(): number {
    return this.loaded.size;
  }

  private fileOf(partition: string): string {
    if (!isPartitionName(partition)) {
      throw new RangeError(
        `invalid partition name ${JSON.stringify(partition)}`,
      );
    }
    return join(this.dir, `${partition}.json`);
  }

  private requireLoaded(partition: string): LoadedPartition {
    const loaded = this.loaded.get(partition);
    if (!loaded) {
      throw new Error(
        `partition ${this.name}/${partition} is not loaded; load it before changing it`,
      );
    }
    return loaded;
  }

  private async loadPartition(
    partition: string,
    now: number,
  ): Promise<LoadedPartition> {
    const existing = this.loaded.get(partition);
    if (existing) {
      existing.lastUsed = now;
      return existing;
    }

    let pending = this.loading.get(partition);
    if (!pending) {
      pending = this.readPartition(partition, now).finally(() =>
        this.loading.delete(partition),
      );
      this.loading.set(partition, pending);
    }
    return pending;
  }

  private async readPartition(
    partition: string,
    now: number,
  ): Promise<LoadedPartition> {
    // A file being appended to is read once the append is done, so no row falls in between.
    await this.appendWrites.get(partition);
    const file = this.fileOf(partition);
    const adapter = new DataFile<RowTexts>(file, {
      parse: parseDocument,
      stringify: renderDocument,
    });
    const db = new Low<RowTexts>(adapter, new Map());
    try {
      await db.read();
    } catch (error) {
      throw new StoreCorruptError(file, (error as Error).message, {
        cause: error,
      });
    }

    // Rows of an append-only table that wait, or are being written, join the loaded copy,
    // which is then written in full at the next compaction.
    const waiting = [
      ...(this.appending.get(partition) ?? []),
      ...(this.appended.get(partition) ?? []),
    ];
    for (const [key, text] of waiting) db.data.set(key, text);
    this.appended.delete(partition);

    const loaded: LoadedPartition = {
      db,
      dirty: waiting.length > 0,
      lastUsed: now,
      pins: 0,
    };
    this.loaded.set(partition, loaded);
    return loaded;
  }
}

function parseRow(text: string | undefined): unknown {
  return text === undefined ? undefined : JSON.parse(text);
}

/** Reads a partition file's `{"rows": {...}}` document into row texts. */
function parseDocument(text: string): RowTexts {
  const document = JSON.parse(text) as unknown;
  const rows = (document as Partial<PartitionDocument<unknown>> | null)?.rows;
  if (rows === null || typeof rows !== "object" || Array.isArray(rows)) {
    throw new Error('the document has no "rows" object');
  }
  const texts: RowTexts = new Map();
  for (const [key, value] of Object.entries(rows))
    texts.set(key, JSON.stringify(value));
  return texts;
}

/**
 * Adds rows to the text of a partition document without parsing it: the rows go before the
 * closing braces of `{"rows":{...}}`. A missing file starts a new document.
 */
function appendToDocument(
  existing: string | null,
  rows: RowTexts,
  file: string,
): string {
  if (existing === null) return renderDocument(rows);

  const body = existing.trimEnd();
  if (!body.startsWith('{"rows":{') || !body.endsWith("}}")) {
    throw new StoreCorruptError(
      file,
      'the document is not a compact {"rows":{...}} object',
    );
  }
  const parts: string[] = [];
  for (const [key, text] of rows) parts.push(`${JSON.stringify(key)}:${text}`);
  const head = body.slice(0, -2);
  const separator = head.endsWith("{") ? "" : ",";
  return `${head}${separator}${parts.join(",")}}}`;
}

/**
 * Writes row texts as the same compact document `JSON.stringify({ rows })` would give, by
 * joining them: no row is serialized again.
 */
function renderDocument(texts: RowTexts): string {
  const parts: string[] = [];
  for (const [key, text] of texts) parts.push(`${JSON.stringify(key)}:${text}`);
  return `{"rows":{${parts.join(",")}}}`;
}
