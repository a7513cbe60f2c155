import { parseArgs } from "node:util";

import { isCalendarDate } from "../bbot/business-date.ts";
import { AdminRequestError, type AdminClient } from "../cli/admin-client.ts";
import { EXPORT_FORMATS, isExportFormat } from "./formats.ts";
import { formatCents } from "./money.ts";
import type { ExportResult } from "./service.ts";
import type { BreakdownTotals, DayTotals } from "./totals.ts";

/** Exit code of a command line that cannot run as typed. */
const USAGE_ERROR = 2;

export const EXPORT_USAGE = `Usage: bbot-bridge export --restaurant ID --date YYYY-MM-DD [options]

Writes the journal entry of a finished business date to <dataDir>/exports/ on the running service.

Options:
  --restaurant ID     restaurant id from the config (required)
  --date YYYY-MM-DD   business date to export (required)
  --format F          write only this format: ${EXPORT_FORMATS.join(", ")}
  --dry-run           show what would be written; write nothing
  --force             compare an exported date again and write a correction if it changed
  --json              print the service's answer as JSON
  --url URL           service address (default http://127.0.0.1:$PORT)
  --help              print this help`;

export const TOTALS_USAGE = `Usage: bbot-bridge totals --restaurant ID --date YYYY-MM-DD [--json]

Prints a restaurant's totals for a business date, in the restaurant's currency.

Options:
  --restaurant ID     restaurant id from the config (required)
  --date YYYY-MM-DD   business date (required)
  --json              print the totals as JSON
  --url URL           service address (default http://127.0.0.1:$PORT)
  --help              print this help`;

/**
 * Runs `bbot-bridge export`: requests the export of a business date and prints
 * what it wrote. Returns 0 on success, 1 when the service rejects or fails, 2 for bad flags.
 * `--url` is read here only so it is not rejected; the caller builds `client` from it.
 */
export async function runExportCommand(
  argv: string[],
  client: AdminClient,
  out: (line: string) => void,
): Promise<number> {
  const parsed = parseFlags(argv, out, EXPORT_USAGE, {
    format: { type: "string" },
    "dry-run": { type: "boolean" },
    force: { type: "boolean" },
  });
  if (typeof parsed === "number") return parsed;
  const { values, restaurant, date } = parsed;

  const format = values.format;
  if (format !== undefined && !isExportFormat(format)) {
    out(
      `invalid --format ${format}: use one of ${EXPORT_FORMATS.join(", ")}, or leave it out for the configured formats`,
    );
    return USAGE_ERROR;
  }

  const body = {
    format,
    force: values.force === true,
    dryRun: values["dry-run"] === true,
  };
  return callService(out, async () => {
    const result = await client.request<ExportResult>(
      "POST",
      `/exports/${encodeURIComponent(restaurant)}/${date}`,
      body,
    );
    if (values.json) out(JSON.stringify(result, null, 2));
    else printExportResult(result, out);
  });
}

/**
 * Runs `bbot-bridge totals`: fetches a business date's totals from the running service and
 * prints them as a table. Exit codes as for `runExportCommand`.
 */
export async function runTotalsCommand(
  argv: string[],
  client: AdminClient,
  out: (line: string) => void,
): Promise<number> {
  const parsed = parseFlags(argv, out, TOTALS_USAGE, {});
  if (typeof parsed === "number") return parsed;
  const { values, restaurant, date } = parsed;

  return callService(out, async () => {
    const totals = await client.request<DayTotals>(
      "GET",
      `/exports/${encodeURIComponent(restaurant)}/${date}/totals`,
    );
    if (values.json) out(JSON.stringify(totals, null, 2));
    else for (const line of totalsTable(totals)) out(line);
  });
}

/** Formats totals as aligned text lines, amounts in currency units. */
export function totalsTable(totals: DayTotals): string[] {
  const row = (label: string, cents: number) =>
    `  ${label.padEnd(24)}${formatCents(cents).padStart(14)}`;
  const lines = [
    `Totals of ${totals.restaurantId} for business date ${totals.businessDate} (${totals.currency})`,
    `  ${"Orders".padEnd(24)}${String(totals.orderCount).padStart(14)}`,
    row("Gross sales", totals.grossSalesCents),
    row("Discounts", totals.discountCents),
    row("Net sales", totals.netSalesCents),
    row("Service fees", totals.feeCents),
    row("Sales tax", totals.taxCents),
    row("Tips", totals.tipCents),
    row("Total collected", totals.collectedCents),
    `Refunds detected on the date: ${totals.refunds.count}`,
    row("Sales", totals.refunds.salesCents),
    row("Sales tax", totals.refunds.taxCents),
    row("Tips", totals.refunds.tipCents),
    row("Service fees", totals.refunds.feeCents),
    row("Total refunded", totals.refunds.totalCents),
    ...breakdownTable("By payment brand", totals.byPaymentBrand),
    ...breakdownTable("By fulfillment method", totals.byFulfillmentMethod),
  ];
  if (totals.warnings.length > 0)
    lines.push(
      `Warnings: ${totals.warnings.length}`,
      ...totals.warnings.map((warning) => `  ${warning}`),
    );
  return lines;
}

function breakdownTable(
  title: string,
  groups: Record<string, BreakdownTotals>,
): string[] {
  const names = Object.keys(groups).sort();
  if (names.length === 0) return [];
  const header = `  ${"".padEnd(24)}${"Orders".padStart(8)}${"Collected".padStart(14)}${"Refunds".padStart(9)}${"Refunded".padStart(14)}`;
  return [
    title,
    header,
    ...names.map((name) => {
      const group = groups[name]!;
      return `  ${name.padEnd(24)}${String(group.orderCount).padStart(8)}${formatCents(group.collectedCents).padStart(14)}${String(group.refundCount).padStart(9)}${formatCents(group.refundedCents).padStart(14)}`;
    }),
  ];
}

function printExportResult(
  result: ExportResult,
  out: (line: string) => void,
): void {
  out(`${result.dryRun ? "Dry run: " : ""}${result.message}`);
  if (result.entry) {
    out(
      `Journal ${result.entry.journalNo} (${result.entry.kind}): ${result.entry.memo}`,
    );
    for (const line of result.entry.lines) {
      const debit = line.debitCents > 0 ? formatCents(line.debitCents) : "";
      const credit = line.creditCents > 0 ? formatCents(line.creditCents) : "";
      out(
        `  ${line.account.name.padEnd(24)}${debit.padStart(14)}${credit.padStart(14)}  ${line.description}`,
      );
    }
    out(
      `  ${"Total".padEnd(24)}${formatCents(result.entry.totalDebitCents).padStart(14)}${formatCents(result.entry.totalCreditCents).padStart(14)}`,
    );
  }
  for (const file of result.files)
    out(
      `${result.dryRun ? "would write" : "wrote"} ${file.path} (${file.bytes} bytes)`,
    );
  for (const warning of result.warnings) out(`warning: ${warning}`);
}

type FlagConfig = Record<string, { type: "string" | "boolean" }>;

/**
 * Parses the flags shared by both commands plus `extra`. Returns an exit code when the
 * command should stop: 0 after `--help`, 2 after a usage error.
 */
function parseFlags(
  argv: string[],
  out: (line: string) => void,
  usage: string,
  extra: FlagConfig,
):
  | number
  | {
      values: Record<string, string | boolean | undefined>;
      restaurant: string;
      date: string;
    } {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        restaurant: { type: "string" },
        date: { type: "string" },
        json: { type: "boolean" },
        url: { type: "string" },
        help: { type: "boolean" },
        ...extra,
      },
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | boolean | undefined>;
  } catch (error) {
    out(`${(error as Error).message}; run with --help for the flags`);
    return USAGE_ERROR;
  }

  if (values.help) {
    out(usage);
    return 0;
  }
  const restaurant = values.restaurant;
  if (typeof restaurant !== "string" || restaurant === "") {
    out(
      "missing --restaurant: pass the restaurant id from the config, such as --restaurant demo",
    );
    return USAGE_ERROR;
  }
  const date = values.date;
  if (typeof date !== "string" || !isCalendarDate(date)) {
    out(
      date === undefined
        ? "missing --date: pass the business date as YYYY-MM-DD, such as --date 2021-12-07"
        : `invalid --date ${String(date)}: expected a calendar date YYYY-MM-DD, such as 2021-12-07`,
    );
    return USAGE_ERROR;
  }
  return { values, restaurant, date };
}

async function callService(
  out: (line: string) => void,
  run: () => Promise<void>,
): Promise<number> {
  try {
    await run();
    return 0;
  } catch (error) {
    if (!(error instanceof AdminRequestError)) throw error;
    out(error.message);
    return 1;
  }
}

/**
 * Returns the `--url` flag of a command line without checking the other flags, so the caller
 * can build the admin client before `runExportCommand` or `runTotalsCommand` checks them all.
 */
export function urlFlagOf(argv: string[]): string | undefined {
  const { values } = parseArgs({
    args: argv,
    options: { url: { type: "string" } },
    strict: false,
    allowPositionals: true,
  });
  return typeof values.url === "string" ? values.url : undefined;
}
