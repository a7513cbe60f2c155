import { registerExportRoutes } from "./export/routes.ts";
import {
  ExportService,
  type ExportDayOptions,
  type ExportResult,
  type ExportServiceOptions,
} from "./export/service.ts";
import type { Metrics } from "./metrics.ts";
import type { ServiceComponent } from "./service.ts";

/**
 * Counts each export run in `bbot_bridge_export_runs_total` by its status, or `failed` when it
 * throws. Nightly runs, catch-up and admin requests all go through `exportDay`. Dry runs are
 * not counted, because they change nothing.
 */
class MeasuredExportService extends ExportService {
  constructor(
    options: ExportServiceOptions,
    private readonly metrics: Metrics,
  ) {
    super(options);
  }

  override async exportDay(
    restaurantId: string,
    businessDate: string,
    options: ExportDayOptions = {},
  ): Promise<ExportResult> {
    try {
      const result = await super.exportDay(restaurantId, businessDate, options);
      if (!result.dryRun)
        this.metrics.exportRuns.inc({ outcome: result.status });
      return result;
    } catch (error) {
      if (!options.dryRun) this.metrics.exportRuns.inc({ outcome: "failed" });
      throw error;
    }
  }
}

/**
 * Creates the nightly accounting export as a service component: it schedules each exporting
 * restaurant's run, catches up on missed dates at start, publishes journal entries as
 * `export.journal_entry` events and mounts `/admin/exports/...` for the CLI's `export` and
 * `totals` commands.
 */
export function exportComponent(): ServiceComponent {
  let exports: MeasuredExportService | undefined;
  let started = false;

  return {
    name: "exportScheduler",
    async start(context) {
      exports = new MeasuredExportService(
        {
          store: context.store,
          restaurants: context.config.restaurants,
          dataDir: context.dataDir,
          clock: context.clock,
          logger: context.logger.child({ component: "export" }),
          publish: (events, ops) =>
            context.engine.publish(events, undefined, ops),
        },
        context.metrics,
      );
      const reports = await exports.start();
      for (const report of reports) {
        for (const failure of report.failures) {
          context.logger.error(
            {
              restaurantId: report.restaurantId,
              businessDate: failure.businessDate,
              error: failure.error,
            },
            "export catch-up failed for a date; the nightly run tries it again",
          );
        }
      }
      started = true;
    },
    async stop() {
      started = false;
      await exports?.stop();
    },
    ready: () => started,
    adminRoutes(router) {
      if (exports) registerExportRoutes(router, exports);
    },
  };
}
