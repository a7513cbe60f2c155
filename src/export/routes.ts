import type { Router, RouterContext } from "@koa/router";

import { UnbalancedEntryError } from "./entry.ts";
import { EXPORT_FORMATS, isExportFormat } from "./formats.ts";
import {
  ExportRequestError,
  type ExportDayOptions,
  type ExportService,
} from "./service.ts";

/**
 * Registers the export's admin routes on a router that the caller mounts behind admin auth:
 *
 * - `GET /exports/:restaurantId/:date/totals`: the day's totals.
 * - `GET /exports/:restaurantId/:date`: the date's ledger row (404 when never exported).
 * - `POST /exports/:restaurantId/:date` with JSON `{format?, force?, dryRun?}`: runs the export.
 * - `POST /exports/catch-up`: exports every missed finished date now.
 *
 * A request the export cannot run gets a 4xx with `{error}` naming the problem and the fix.
 * An entry that does not balance gets 422 with the figures. Other errors go to the
 * app's error middleware.
 */
export function registerExportRoutes(
  router: Router,
  service: ExportService,
): void {
  router.post("/exports/catch-up", async (ctx) => {
    await answer(ctx, async () => ({ reports: await service.catchUp() }));
  });

  router.get("/exports/:restaurantId/:date/totals", async (ctx) => {
    await answer(ctx, () =>
      service.totals(ctx.params.restaurantId!, ctx.params.date!),
    );
  });

  router.get("/exports/:restaurantId/:date", async (ctx) => {
    await answer(ctx, async () => {
      const { restaurantId, date } = ctx.params;
      const ledger = await service.ledger(restaurantId!, date!);
      if (!ledger) {
        throw new ExportRequestError(
          `${restaurantId} ${date} has not been exported; POST to this path to export it`,
          404,
        );
      }
      return ledger;
    });
  });

  router.post("/exports/:restaurantId/:date", async (ctx) => {
    await answer(ctx, () =>
      service.exportDay(
        ctx.params.restaurantId!,
        ctx.params.date!,
        exportOptionsOf((ctx.request as { body?: unknown }).body),
      ),
    );
  });
}

/** Checks the JSON body of an export request; an absent body means the defaults. */
export function exportOptionsOf(body: unknown): ExportDayOptions {
  if (body === undefined || body === null) return {};
  if (typeof body !== "object" || Array.isArray(body)) {
    throw new ExportRequestError(
      'the body must be a JSON object such as {"force": true}',
      400,
    );
  }

  const input = body as Record<string, unknown>;
  const options: ExportDayOptions = {};
  for (const key of Object.keys(input)) {
    if (!["format", "force", "dryRun"].includes(key)) {
      throw new ExportRequestError(
        `unknown field ${JSON.stringify(key)}; allowed: format, force, dryRun`,
        400,
      );
    }
  }
  if (input.format !== undefined && input.format !== null) {
    if (!isExportFormat(input.format)) {
      throw new ExportRequestError(
        `invalid format ${JSON.stringify(input.format)}; use one of: ${EXPORT_FORMATS.join(", ")}`,
        400,
      );
    }
    options.format = input.format;
  }
  for (const flag of ["force", "dryRun"] as const) {
    const value = input[flag];
    if (value === undefined) continue;
    if (typeof value !== "boolean") {
      throw new ExportRequestError(
        `invalid ${flag} ${JSON.stringify(value)}; expected true or false`,
        400,
      );
    }
    options[flag] = value;
  }
  return options;
}

async function answer(
  ctx: RouterContext,
  run: () => Promise<unknown>,
): Promise<void> {
  try {
    ctx.body = await run();
  } catch (error) {
    if (error instanceof ExportRequestError) {
      ctx.status = error.status;
      ctx.body = { error: error.message };
      return;
    }
    if (error instanceof UnbalancedEntryError) {
      ctx.status = 422;
      ctx.body = { error: error.message };
      return;
    }
    throw error;
  }
}
