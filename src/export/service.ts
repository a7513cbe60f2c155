import type { Logger } from "pino";

import { businessDateOf, isCalendarDate } from "../bbot/business-date.ts";
import type { RestaurantConfig } from "../config/schema.ts";
import type { Clock } from "../delivery/contract.ts";
import { stableId, type JournalEntryEvent } from "../orders/events.ts";
import { KeyedLock } from "../orders/keyed-lock.ts";
import { dateOfPartition } from "../store/keys.ts";
import type { Store, StoreOp } from "../store/store.ts";
import {
  buildEntry,
  checksumOf,
  dayLines,
  differenceLines,
  sumLines,
  type ExportSettings,
  type JournalEntry,
} from "./entry.ts";
import { ExportFiles, type ExportFile } from "./files.ts";
import {
  EXPORT_FORMATS,
  isExportFormat,
  journalDocumentOf,
  type ExportFormat,
} from "./formats.ts";
import {
  ledgerAddress,
  saveLedgerOp,
  type LedgerRecord,
  type LedgerRevision,
} from "./ledger.ts";
import {
  catchUpDates,
  cronExpressionOf,
  isFinished,
  lastFinishedDate,
  nodeCronScheduler,
  type CronScheduler,
  type ScheduledJob,
} from "./schedule.ts";
import { readDayTotals, type DayTotals } from "./totals.ts";

/**
 * Commits journal entry events with the ledger change in `extraOps`, in one durable write.
 * Wire it to the delivery engine as `(events, ops) => engine.publish(events, undefined, ops)`.
 */
export type PublishJournalEntries = (
  events: JournalEntryEvent[],
  extraOps: readonly StoreOp[],
) => Promise<void>;

export interface ExportServiceOptions {
  store: Store;
  restaurants: readonly RestaurantConfig[];
  /** Files go to `<dataDir>/exports/`. */
  dataDir: string;
  clock: Clock;
  logger: Logger;
  /** Sends each new entry as an `export.journal_entry` event; without it no event is made. */
  publish?: PublishJournalEntries;
  /** Schedules the nightly runs; node-cron by default. */
  schedule?: CronScheduler;
}

/** Options of one export run. */
export interface ExportDayOptions {
  /** Writes only this format instead of the restaurant's configured ones. */
  format?: ExportFormat;
  /** Compares an exported date with the store again and writes a correction if it changed. */
  force?: boolean;
  /** Computes and renders everything but writes no file and changes no ledger row. */
  dryRun?: boolean;
}

/**
 * Outcome of an export run. `written` means a new revision. `unchanged` means a forced run
 * found nothing new. `empty` means there is nothing to post on the date. `already-exported`
 * means the date has a ledger row and `force` was not given, so only missing files of its
 * revisions are written again.
 */
export interface ExportResult {
  restaurantId: string;
  businessDate: string;
  status: "written" | "unchanged" | "empty" | "already-exported";
  dryRun: boolean;
  /** The latest revision after the run (in a dry run, the one it would write). */
  revision: number;
  /** The entry written, or that would be written; null when nothing is posted. */
  entry: JournalEntry | null;
  files: ExportFile[];
  message: string;
  warnings: string[];
}

/** A restaurant's catch-up: what each date's run did, and the dates that failed. */
export interface CatchUpReport {
  restaurantId: string;
  results: ExportResult[];
  failures: { businessDate: string; error: string }[];
}

/** An export request that cannot run as given; `status` is the HTTP status the admin API uses. */
export class ExportRequestError extends Error {
  override readonly name = "ExportRequestError";

  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * The nightly accounting export. For each restaurant and finished business date it writes one
 * balanced journal entry in the configured formats and records it in the `exports` ledger, so
 * a re-run writes nothing twice. A forced run after late changes adds a correction revision.
 * Exports of one restaurant run one at a time.
 */
export class ExportService {
  private readonly restaurants = new Map<string, RestaurantConfig>();
  private readonly lock = new KeyedLock();
  private readonly jobs: ScheduledJob[] = [];
  private readonly running = new Set<Promise<unknown>>();
  private readonly files: ExportFiles;

  constructor(private readonly options: ExportServiceOptions) {
    for (const restaurant of options.restaurants)
      this.restaurants.set(restaurant.id, restaurant);
    this.files = new ExportFiles(options.dataDir);
  }

  /**
   * Schedules each enabled restaurant's nightly run at its `scheduleTime` in its time zone,
   * then catches up on finished dates missed while the service was down.
   */
  async start(): Promise<CatchUpReport[]> {
    const schedule = this.options.schedule ?? nodeCronScheduler;
    for (const restaurant of this.exportingRestaurants()) {
      const settings = restaurant.export!;
      const expression = cronExpressionOf(settings.scheduleTime);
      const job = schedule(
        expression,
        () => this.track(this.runScheduled(restaurant.id)),
        {
          timezone: restaurant.timeZone,
          name: `export-${restaurant.id}`,
          noOverlap: true,
        },
      );
      this.jobs.push(job);
      this.options.logger.info(
        {
          restaurantId: restaurant.id,
          cron: expression,
          timeZone: restaurant.timeZone,
        },
        "nightly export scheduled",
      );
    }
    return this.track(this.catchUp());
  }

  /** Cancels the schedules and waits for runs in progress. */
  async stop(): Promise<void> {
    for (const job of this.jobs.splice(0)) await job.destroy();
    await Promise.allSettled([...this.running]);
    this.options.logger.info("export service stopped");
  }

  /** Exports every finished, unexported date in the look-back of each exporting restaurant. */
  async catchUp(): Promise<CatchUpReport[]> {
    const reports: CatchUpReport[] = [];
    for (const restaurant of this.exportingRestaurants())
      reports.push(await this.runRestaurant(restaurant.id));
    return reports;
  }

  /**
   * Exports each finished date of a restaurant that has no ledger row yet, oldest first, up to
   * `catchUpDays` back and never before the first stored order. This is also the nightly run,
   * so a night the scheduler skipped (such as a time inside the spring-forward gap) is
   * exported by the next run. A failing date is logged and the others still run.
   */
  async runRestaurant(restaurantId: string): Promise<CatchUpReport> {
    const restaurant = this.restaurantOf(restaurantId);
    const settings = this.settingsOf(restaurant);
    const report: CatchUpReport = { restaurantId, results: [], failures: [] };
    const earliest = await this.earliestOrderDate();
    if (earliest === undefined) return report;

    const now = this.options.clock.now();
    const dates = catchUpDates(
      lastFinishedDate(now, restaurant),
      settings.catchUpDays,
      earliest,
    );
    for (const date of dates) {
      const address = ledgerAddress(restaurantId, date);
      const known = await this.options.store.get<LedgerRecord>(
        address.table,
        address.partition,
        address.key,
      );
      if (known) continue;

      try {
        report.results.push(await this.exportDay(restaurantId, date));
      } catch (error) {
        const message = (error as Error).message;
        report.failures.push({ businessDate: date, error: message });
        this.options.logger.error(
          { err: error, restaurantId, businessDate: date },
          "export of a business date failed; the next run tries again",
        );
      }
    }
    return report;
  }

  /** Runs a restaurant's nightly export and logs a failure instead of passing it to the scheduler. */
  private async runScheduled(restaurantId: string): Promise<void> {
    try {
      const report = await this.runRestaurant(restaurantId);
      this.options.logger.info(
        {
          restaurantId,
          exported: report.results.length,
          failed: report.failures.length,
        },
        "nightly export finished",
      );
    } catch (error) {
      this.options.logger.error(
        { err: error, restaurantId },
        "nightly export failed; the next run catches up",
      );
    }
  }

  /** Computes a restaurant's totals for a business date, finished or not. */
  async totals(restaurantId: string, businessDate: string): Promise<DayTotals> {
    const restaurant = this.restaurantOf(restaurantId);
    checkDate(businessDate);
    return readDayTotals(
      this.options.store,
      restaurant,
      businessDate,
      await this.existingPartitions(),
    );
  }

  /** Returns a date's ledger row, or undefined when it was never exported. */
  async ledger(
    restaurantId: string,
    businessDate: string,
  ): Promise<LedgerRecord | undefined> {
    this.restaurantOf(restaurantId);
    checkDate(businessDate);
    const address = ledgerAddress(restaurantId, businessDate);
    return this.options.store.get<LedgerRecord>(
      address.table,
      address.partition,
      address.key,
    );
  }

  /**
   * Exports one business date: the full day when it has no ledger row, nothing but missing
   * files when it has one, and with `force` a correction entry holding only the differences
   * from what was posted (nothing when there are none). Files are written before the ledger
   * row, so a crash between the two leaves files that the retry rewrites with the same names
   * and content.
   */
  async exportDay(
    restaurantId: string,
    businessDate: string,
    options: ExportDayOptions = {},
  ): Promise<ExportResult> {
    const restaurant = this.restaurantOf(restaurantId);
    const settings = this.settingsOf(restaurant);
    checkDate(businessDate);
    if (options.format !== undefined && !isExportFormat(options.format)) {
      throw new ExportRequestError(
        `invalid format ${JSON.stringify(options.format)}; use one of: ${EXPORT_FORMATS.join(", ")}`,
        400,
      );
    }
    const now = this.options.clock.now();
    if (!options.dryRun && !isFinished(businessDate, now, restaurant)) {
      throw new ExportRequestError(
        `business date ${businessDate} of ${restaurantId} is not finished yet; it ends at ${restaurant.businessDayCutoffHour}:00 the next day (${restaurant.timeZone}). Use a dry run to preview it`,
        409,
      );
    }

    return this.lock.run(restaurantId, () =>
      this.exportLocked(restaurant, settings, businessDate, options),
    );
  }

  private async exportLocked(
    restaurant: RestaurantConfig,
    settings: ExportSettings,
    businessDate: string,
    options: ExportDayOptions,
  ): Promise<ExportResult> {
    const formats = options.format
      ? [options.format]
      : settings.formats.filter(isExportFormat);
    const ledger = await this.ledger(restaurant.id, businessDate);
    const dryRun = options.dryRun === true;
    const base = { restaurantId: restaurant.id, businessDate, dryRun };

    if (ledger && !options.force) {
      const files = await this.files.restore(ledger, formats, settings, dryRun);
      return {
        ...base,
        status: "already-exported",
        revision: ledger.revision,
        entry: null,
        files,
        message: `${restaurant.id} ${businessDate} was exported before (revision ${ledger.revision}); run it again with --force (force: true in the admin API) to post late changes as a correction`,
        warnings: [],
      };
    }

    const totals = await this.totals(restaurant.id, businessDate);
    const wanted = dayLines(totals, settings);
    const checksum = checksumOf(wanted);
    const posted = ledger?.posted ?? [];

    if (ledger && checksum === ledger.checksum) {
      return {
        ...base,
        status: "unchanged",
        revision: ledger.revision,
        entry: null,
        files: [],
        message: `${restaurant.id} ${businessDate} has not changed since revision ${ledger.revision}; nothing written`,
        warnings: totals.warnings,
      };
    }

    const lines = differenceLines(posted, wanted);
    if (lines.length === 0) {
      return this.recordEmpty(base, ledger, checksum, totals.warnings);
    }

    const revision = (ledger?.revision ?? 0) + 1;
    const entry = buildEntry(
      {
        restaurant,
        businessDate,
        revision,
        kind: posted.length === 0 ? "day" : "correction",
      },
      lines,
    );
    const files = formats.map((format) =>
      this.files.render(entry, format, settings),
    );
    const result: ExportResult = {
      ...base,
      status: "written",
      revision,
      entry,
      files,
      message: `${dryRun ? "would write" : "wrote"} ${entry.kind} entry ${entry.journalNo} with ${lines.length} lines`,
      warnings: totals.warnings,
    };
    if (dryRun) return result;

    for (const file of files) await this.files.write(file);
    await this.commitRevision(ledger, entry, files, sumLines(posted, lines));

    this.options.logger.info(
      {
        restaurantId: restaurant.id,
        businessDate,
        revision,
        kind: entry.kind,
        lines: lines.length,
        files: files.map((file) => file.name),
        warnings: totals.warnings.length,
      },
      "journal entry exported",
    );
    return result;
  }

  private async recordEmpty(
    base: { restaurantId: string; businessDate: string; dryRun: boolean },
    ledger: LedgerRecord | undefined,
    checksum: string,
    warnings: string[],
  ): Promise<ExportResult> {
    const result: ExportResult = {
      ...base,
      status: "empty",
      revision: ledger?.revision ?? 0,
      entry: null,
      files: [],
      message: `${base.restaurantId} ${base.businessDate} has nothing to post; no file written`,
      warnings,
    };
    if (base.dryRun || ledger) return result;

    const now = new Date(this.options.clock.now()).toISOString();
    await this.options.store.commit([
      saveLedgerOp({
        restaurantId: base.restaurantId,
        businessDate: base.businessDate,
        revision: 0,
        checksum,
        posted: [],
        revisions: [],
        createdAt: now,
        updatedAt: now,
      }),
    ]);
    return result;
  }

  /** Saves the ledger row of a new revision, with its event when `publish` is wired. */
  private async commitRevision(
    ledger: LedgerRecord | undefined,
    entry: JournalEntry,
    files: ExportFile[],
    posted: JournalEntry["lines"],
  ): Promise<void> {
    const now = this.options.clock.now();
    const exportedAt = new Date(now).toISOString();
    const revision: LedgerRevision = {
      revision: entry.revision,
      kind: entry.kind,
      checksum: checksumOf(entry.lines),
      exportedAt,
      files: files.map((file) => file.name),
      entry,
    };
    const record: LedgerRecord = {
      restaurantId: entry.restaurantId,
      businessDate: entry.businessDate,
      revision: entry.revision,
      checksum: checksumOf(posted),
      posted,
      revisions: [...(ledger?.revisions ?? []), revision],
      createdAt: ledger?.createdAt ?? exportedAt,
      updatedAt: exportedAt,
    };
    const op = saveLedgerOp(record);

    if (!this.options.publish) {
      await this.options.store.commit([op]);
      return;
    }

    await this.options.publish([this.journalEntryEvent(entry, now)], [op]);
    const saved = await this.options.store.get<LedgerRecord>(
      op.table,
      op.partition,
      op.key,
    );
    if (saved?.revision !== entry.revision) {
      // A publish that drops `extraOps` would make every run export the date again.
      this.options.logger.error(
        { restaurantId: entry.restaurantId, businessDate: entry.businessDate },
        "publish did not commit the export ledger row; saving it separately. Wire publish as (events, ops) => engine.publish(events, undefined, ops)",
      );
      await this.options.store.commit([op]);
    }
  }

  private journalEntryEvent(
    entry: JournalEntry,
    now: number,
  ): JournalEntryEvent {
    const restaurant = this.restaurantOf(entry.restaurantId);
    const at = new Date(now).toISOString();
    return {
      id: stableId(
        "evt",
        "export",
        entry.restaurantId,
        entry.businessDate,
        String(entry.revision),
      ),
      type: "export.journal_entry",
      restaurantId: entry.restaurantId,
      orderId: null,
      occurredAt: at,
      detectedAt: at,
      detectedBusinessDate: businessDateOf(
        now,
        restaurant.timeZone,
        restaurant.businessDayCutoffHour,
      ),
      change: {
        businessDate: entry.businessDate,
        revision: entry.revision,
        entry: journalDocumentOf(entry),
      },
    };
  }

  private async existingPartitions(): Promise<{
    orders: Set<string>;
    events: Set<string>;
  }> {
    return {
      orders: new Set(await this.options.store.partitions("orders")),
      events: new Set(await this.options.store.partitions("events")),
    };
  }

  private async earliestOrderDate(): Promise<string | undefined> {
    let earliest: string | undefined;
    for (const partition of await this.options.store.partitions("orders")) {
      const date = dateOfPartition(partition);
      if (isCalendarDate(date) && (earliest === undefined || date < earliest))
        earliest = date;
    }
    return earliest;
  }

  private exportingRestaurants(): RestaurantConfig[] {
    return [...this.restaurants.values()].filter(
      (restaurant) => restaurant.export?.enabled,
    );
  }

  private restaurantOf(restaurantId: string): RestaurantConfig {
    const restaurant = this.restaurants.get(restaurantId);
    if (!restaurant) {
      throw new ExportRequestError(
        `unknown restaurant ${JSON.stringify(restaurantId)}; configured: ${[...this.restaurants.keys()].join(", ")}`,
        404,
      );
    }
    return restaurant;
  }

  private settingsOf(restaurant: RestaurantConfig): ExportSettings {
    if (!restaurant.export) {
      throw new ExportRequestError(
        `restaurant ${restaurant.id} has no export settings; add an "export" section with its accounts to the config`,
        409,
      );
    }
    return restaurant.export;
  }

  private track<T>(run: Promise<T>): Promise<T> {
    this.running.add(run);
    void run.finally(() => this.running.delete(run)).catch(() => undefined);
    return run;
  }
}

function checkDate(businessDate: string): void {
  if (!isCalendarDate(businessDate)) {
    throw new ExportRequestError(
      `invalid business date ${JSON.stringify(businessDate)}; expected a calendar date YYYY-MM-DD`,
      400,
    );
  }
}
