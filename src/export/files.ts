import { access, mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

import type { ExportSettings, JournalEntry } from "./entry.ts";
import { fileNameOf, renderEntry, type ExportFormat } from "./formats.ts";
import type { LedgerRecord } from "./ledger.ts";

/** A file an export wrote, or would write in a dry run. */
export interface ExportFile {
  format: ExportFormat;
  name: string;
  path: string;
  bytes: number;
  /** The file's text, returned in dry runs only. */
  content?: string;
}

/** The export files of one data folder, all in `<dataDir>/exports/`. */
export class ExportFiles {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, "exports");
  }

  /** Renders an entry in a format, with its deterministic name and path. */
  render(
    entry: JournalEntry,
    format: ExportFormat,
    settings: ExportSettings,
  ): ExportFile {
    const name = fileNameOf(entry, format);
    const content = renderEntry(entry, format, {
      byteOrderMark: settings.byteOrderMark,
      xeroTaxRate: settings.xeroTaxRate,
    });
    return {
      format,
      name,
      path: join(this.dir, name),
      bytes: Buffer.byteLength(content, "utf8"),
      content,
    };
  }

  /**
   * Writes a rendered file through a temporary file and a rename, so a reader never sees half
   * a file, then drops its content from the returned record.
   */
  async write(file: ExportFile): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const temporary = `${file.path}.tmp`;
    await writeFile(temporary, file.content ?? "", "utf8");
    await rename(temporary, file.path);
    delete file.content;
  }

  /**
   * Writes the files of a ledger's revisions that are missing in the given formats, from the
   * entries the ledger keeps. Returns them; in a dry run they are only rendered.
   */
  async restore(
    ledger: LedgerRecord,
    formats: readonly ExportFormat[],
    settings: ExportSettings,
    dryRun: boolean,
  ): Promise<ExportFile[]> {
    const restored: ExportFile[] = [];
    for (const revision of ledger.revisions) {
      for (const format of formats) {
        const file = this.render(revision.entry, format, settings);
        if (await exists(file.path)) continue;
        if (!dryRun) await this.write(file);
        restored.push(file);
      }
    }
    return restored;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
