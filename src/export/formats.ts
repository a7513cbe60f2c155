import type { JournalEntry } from "./entry.ts";
import { formatCents } from "./money.ts";

/** The file formats a journal entry can be written in. */
export const EXPORT_FORMATS = ["qbo-csv", "xero-csv", "iif", "json"] as const;

export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Options of the renderers that are not part of the entry. */
export interface RenderOptions {
  /** Starts CSV files with a UTF-8 byte-order mark. */
  byteOrderMark: boolean;
  /** Xero's tax rate name for every line, such as "Tax Exempt". */
  xeroTaxRate: string;
}

const BYTE_ORDER_MARK = "\uFEFF";
/** RFC 4180 ends records with CRLF; QuickBooks Desktop also expects it in IIF files. */
const CRLF = "\r\n";

const MONTHS = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
];

/** Tells whether a string names a known export format. */
export function isExportFormat(value: unknown): value is ExportFormat {
  return EXPORT_FORMATS.includes(value as ExportFormat);
}

/** Returns the deterministic file name of an entry in a format, such as `demo_2021-12-07_r1.qbo.csv`. */
export function fileNameOf(entry: JournalEntry, format: ExportFormat): string {
  const extension = {
    "qbo-csv": "qbo.csv",
    "xero-csv": "xero.csv",
    iif: "iif",
    json: "json",
  }[format];
  return `${entry.restaurantId}_${entry.businessDate}_r${entry.revision}.${extension}`;
}

/** Renders an entry in one format. */
export function renderEntry(
  entry: JournalEntry,
  format: ExportFormat,
  options: RenderOptions,
): string {
  switch (format) {
    case "qbo-csv":
      return renderQuickBooksOnlineCsv(entry, options);
    case "xero-csv":
      return renderXeroCsv(entry, options);
    case "iif":
      return renderIif(entry);
    case "json":
      return `${JSON.stringify(journalDocumentOf(entry), null, 2)}\n`;
  }
}

/**
 * Renders QuickBooks Online's journal entry import: one row per line, all rows sharing the
 * entry's journal number, dates as MM/DD/YYYY, and the unused amount column left empty.
 * Accounts are matched by name.
 */
export function renderQuickBooksOnlineCsv(
  entry: JournalEntry,
  options: RenderOptions,
): string {
  const date = usDate(entry.businessDate);
  const rows = [
    [
      "Journal No.",
      "Journal Date",
      "Account Name",
      "Debits",
      "Credits",
      "Description",
    ],
    ...entry.lines.map((line) => [
      entry.journalNo,
      date,
      line.account.name,
      line.debitCents > 0 ? formatCents(line.debitCents) : "",
      line.creditCents > 0 ? formatCents(line.creditCents) : "",
      line.description,
    ]),
  ];
  return csvText(rows, options.byteOrderMark);
}

/**
 * Renders Xero's manual journal import. Lines of one journal share narration and date, and
 * accounts are matched by code. The date is `dd Mmm yyyy`, a form Xero's import help lists,
 * which cannot be misread as month-first or day-first. Amounts are positive for a debit and
 * negative for a credit.
 */
export function renderXeroCsv(
  entry: JournalEntry,
  options: RenderOptions,
): string {
  const narration = `${entry.journalNo} ${entry.memo}`;
  const date = xeroDate(entry.businessDate);
  const rows = [
    ["Narration", "Date", "Description", "AccountCode", "TaxRate", "Amount"],
    ...entry.lines.map((line) => [
      narration,
      date,
      line.description,
      line.account.code,
      options.xeroTaxRate,
      formatCents(line.debitCents - line.creditCents),
    ]),
  ];
  return csvText(rows, options.byteOrderMark);
}

/**
 * Renders QuickBooks Desktop's IIF: tab-separated header rows (`!TRNS`, `!SPL`, `!ENDTRNS`),
 * then one GENERAL JOURNAL transaction whose first line is the TRNS row and the others SPL
 * rows, closed by ENDTRNS. Amounts are positive for debits and negative for credits.
 *
 * NOTE: the file is UTF-8 without a byte-order mark; accented account names have not been
 * tried against a QuickBooks Desktop import.
 */
export function renderIif(entry: JournalEntry): string {
  const columns = ["TRNSTYPE", "DATE", "ACCNT", "AMOUNT", "DOCNUM", "MEMO"];
  const date = usDate(entry.businessDate);
  const records = [
    ["!TRNS", "TRNSID", ...columns],
    ["!SPL", "SPLID", ...columns],
    ["!ENDTRNS"],
    ...entry.lines.map((line, index) => [
      index === 0 ? "TRNS" : "SPL",
      "",
      "GENERAL JOURNAL",
      date,
      iifField(line.account.name),
      formatCents(line.debitCents - line.creditCents),
      iifField(entry.journalNo),
      iifField(index === 0 ? entry.memo : line.description),
    ]),
    ["ENDTRNS"],
  ];
  return records.map((fields) => `${fields.join("\t")}${CRLF}`).join("");
}

/** Builds the JSON document of an entry, which is the file's content and the body the accounting adapter posts. */
export function journalDocumentOf(
  entry: JournalEntry,
): Record<string, unknown> {
  return {
    restaurantId: entry.restaurantId,
    restaurantName: entry.restaurantName,
    businessDate: entry.businessDate,
    revision: entry.revision,
    kind: entry.kind,
    journalNo: entry.journalNo,
    memo: entry.memo,
    currency: entry.currency,
    totalDebitCents: entry.totalDebitCents,
    totalCreditCents: entry.totalCreditCents,
    lines: entry.lines.map((line) => ({
      accountName: line.account.name,
      accountCode: line.account.code,
      role: line.role,
      kind: line.kind,
      description: line.description,
      debitCents: line.debitCents,
      creditCents: line.creditCents,
      debit: formatCents(line.debitCents),
      credit: formatCents(line.creditCents),
    })),
  };
}

/**
 * Joins rows into RFC 4180 CSV: a field with a comma, quote, CR or LF is quoted and its quotes
 * doubled; records end with CRLF.
 */
export function csvText(rows: readonly string[][], byteOrderMark: boolean) {
  const body = rows
    .map((fields) => `${fields.map(csvField).join(",")}${CRLF}`)
    .join("");
  return byteOrderMark ? `${BYTE_ORDER_MARK}${body}` : body;
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** IIF has no quoting, so tabs and line breaks inside a field become spaces. */
function iifField(value: string): string {
  return value.replace(/[\t\r\n]+/g, " ");
}

function usDate(businessDate: string): string {
  const [year, month, day] = businessDate.split("-");
  return `${month}/${day}/${year}`;
}

function xeroDate(businessDate: string): string {
  const [year, month, day] = businessDate.split("-");
  return `${day} ${MONTHS[Number(month) - 1]} ${year}`;
}
