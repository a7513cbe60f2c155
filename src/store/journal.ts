import {
  mkdir,
  open,
  readdir,
  readFile,
  rm,
  type FileHandle,
} from "node:fs/promises";
import { join } from "node:path";

import { StoreCorruptError } from "./errors.ts";

interface Pending {
  line: string;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** A journal segment found at start-up and the records it holds. */
export interface RecoveredSegment {
  file: string;
  records: unknown[];
  /** True when the last line was cut short by a crash during an unacknowledged write. */
  tornTail: boolean;
}

const SEGMENT_NAME = /^(\d{10})\.ndjson$/;

/**
 * An append-only journal of committed changes, one JSON record a line, split into segments.
 *
 * Group commit: records appended while a write is in progress wait and share the next write
 * and its `fdatasync`, so one flush serves every request that arrived meanwhile. `append`
 * resolves only after the flush, which is what lets the service respond 2xx safely.
 */
export class Journal {
  private handle: FileHandle | undefined;
  private segment = 0;
  private size = 0;
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  /** A segment switch waiting for the write loop, which runs it between two writes. */
  private rotation:
    | {
        resolve: (files: string[]) => void;
        reject: (error: Error) => void;
        done: Promise<string[]>;
      }
    | undefined;

  constructor(private readonly dir: string) {}

  /** Reads every existing segment in order, then opens a new segment for appends. */
  async open(): Promise<RecoveredSegment[]> {
    await mkdir(this.dir, { recursive: true });
    const names = (await readdir(this.dir))
      .filter((name) => SEGMENT_NAME.test(name))
      .sort();

    const recovered: RecoveredSegment[] = [];
    for (const name of names)
      recovered.push(await readSegment(join(this.dir, name)));

    const last = names.at(-1);
    this.segment = last ? Number(SEGMENT_NAME.exec(last)![1]) : 0;
    await this.openNextSegment();
    return recovered;
  }

  /** Bytes in the current segment. */
  get currentSize(): number {
    return this.size;
  }

  /**
   * Appends a record, given as its JSON text without a line break, and resolves once it is
   * flushed to disk.
   */
  append(recordJson: string): Promise<void> {
    const line = `${recordJson}\n`;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ line, resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  /**
   * Starts a new segment for later appends and returns the paths of the older ones, which the
   * caller deletes once their records are safely in the partition files.
   */
  rotate(): Promise<string[]> {
    if (!this.rotation) {
      let resolve: (files: string[]) => void = () => {};
      let reject: (error: Error) => void = () => {};
      const done = new Promise<string[]>((resolveDone, rejectDone) => {
        resolve = resolveDone;
        reject = rejectDone;
      });
      this.rotation = { resolve, reject, done };
    }
    const { done } = this.rotation;
    this.flushing ??= this.flushLoop();
    return done;
  }

  /** Deletes segments whose records are all in the partition files. */
  async discard(files: string[]): Promise<void> {
    for (const file of files) await rm(file, { force: true });
    await syncDirectory(this.dir);
  }

  async close(): Promise<void> {
    await this.flushing;
    await this.handle?.close();
    this.handle = undefined;
  }

  private async switchSegment(
    rotation: NonNullable<Journal["rotation"]>,
  ): Promise<void> {
    this.rotation = undefined;
    try {
      const names = (await readdir(this.dir))
        .filter((name) => SEGMENT_NAME.test(name))
        .sort();
      await this.openNextSegment();
      rotation.resolve(names.map((name) => join(this.dir, name)));
    } catch (error) {
      rotation.reject(error as Error);
    }
  }

  private async openNextSegment(): Promise<void> {
    const previous = this.handle;
    this.segment += 1;
    const file = join(
      this.dir,
      `${String(this.segment).padStart(10, "0")}.ndjson`,
    );
    this.handle = await open(file, "wx");
    this.size = 0;
    await syncDirectory(this.dir);
    await previous?.close();
  }

  private async flushLoop(): Promise<void> {
    // Let the requests of this turn of the event loop join the same write.
    await new Promise<void>((resolve) => setImmediate(resolve));

    // The loop is the only writer: a segment switch runs here between two writes, so no
    // write can use the old segment's handle with the new segment's offset.
    while (this.queue.length > 0 || this.rotation) {
      if (this.rotation) {
        await this.switchSegment(this.rotation);
        continue;
      }
      const batch = this.queue.splice(0);
      const buffer = Buffer.from(
        batch.map((item) => item.line).join(""),
        "utf8",
      );
      const handle = this.handle;
      try {
        if (!handle) throw new Error("the journal is closed");
        await handle.write(buffer, 0, buffer.length, this.size);
        await handle.datasync();
        this.size += buffer.length;
        for (const item of batch) item.resolve();
      } catch (error) {
        // Cut a partial write back off, so the next batch starts on a clean line.
        await handle?.truncate(this.size).catch(() => undefined);
        const failure = new Error(
          `journal write failed: ${(error as Error).message}`,
          { cause: error },
        );
        for (const item of batch) item.reject(failure);
      }
    }
    this.flushing = undefined;
  }
}

async function readSegment(file: string): Promise<RecoveredSegment> {
  const text = await readFile(file, "utf8");
  const lines = text.split("\n");
  const records: unknown[] = [];
  let tornTail = false;

  lines.forEach((line, index) => {
    if (line === "") return;
    const isLast = index === lines.length - 1;
    try {
      records.push(JSON.parse(line));
    } catch (error) {
      // Only the unterminated last line can come from a write cut short by a crash; that
      // write was never acknowledged, so skipping it loses nothing that got a 2xx response.
      if (isLast) {
        tornTail = true;
        return;
      }
      throw new StoreCorruptError(file, `line ${index + 1} is not valid JSON`, {
        cause: error,
      });
    }
  });

  return { file, records, tornTail };
}

/** Flushes a directory entry, so a created, renamed or deleted file survives a power loss. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
