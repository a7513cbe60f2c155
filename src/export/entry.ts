import { createHash } from "node:crypto";

import type { RestaurantConfig } from "../config/schema.ts";
import { formatCents } from "./money.ts";
import type { DayTotals } from "./totals.ts";

/** A restaurant's export settings, as the config schema checks them. */
export type ExportSettings = NonNullable<RestaurantConfig["export"]>;

/** A ledger account: `name` is what QuickBooks matches, `code` what Xero matches. */
export interface LedgerAccount {
  name: string;
  code: string;
}

/** The account roles of `export.accounts`. */
export type AccountRole =
  | "cardClearing"
  | "sales"
  | "discounts"
  | "fees"
  | "salesTaxPayable"
  | "tipsPayable"
  | "refunds";

/**
 * Kinds of posting. Sales lines come from the orders of the date, and refund lines from the
 * refunds detected on it. The kind also fixes the order of lines in every format.
 */
export const LINE_KINDS = [
  "payments",
  "discounts",
  "grossSales",
  "fees",
  "salesTax",
  "tips",
  "refundedSales",
  "refundedFees",
  "refundedSalesTax",
  "refundedTips",
  "refundedPayments",
] as const;

export type LineKind = (typeof LINE_KINDS)[number];

/** One line of a journal entry. Exactly one of the two amounts is above zero. */
export interface JournalLine {
  kind: LineKind;
  role: AccountRole;
  account: LedgerAccount;
  description: string;
  debitCents: number;
  creditCents: number;
}

/** A journal entry as every format renders it. */
export interface JournalEntry {
  restaurantId: string;
  restaurantName: string;
  businessDate: string;
  /** 1 for the first entry of the date; each correction adds one. */
  revision: number;
  /** `day` posts the whole date; `correction` posts only what changed since the last revision. */
  kind: "day" | "correction";
  /** The journal number shared by the entry's lines, such as `demo-20211207-1`. */
  journalNo: string;
  /** The entry's memo: QuickBooks' memo and Xero's narration. */
  memo: string;
  currency: string;
  totalDebitCents: number;
  totalCreditCents: number;
  lines: JournalLine[];
}

/** Raised instead of writing an entry whose debits and credits differ; lists every figure. */
export class UnbalancedEntryError extends Error {
  override readonly name = "UnbalancedEntryError";
}

/**
 * Builds the lines that post a day's totals, leaving out every zero line. Sales post as a
 * card clearing debit of what was collected, a discounts debit and credits of gross sales,
 * service fees, sales tax payable and tips payable. Refunds post the other way round: debits
 * of refunds (sales part), fees, sales tax payable and tips payable, and a card clearing
 * credit. Card clearing lines are split by the account each payment brand maps to.
 */
export function dayLines(
  totals: DayTotals,
  settings: ExportSettings,
): JournalLine[] {
  const accounts = settings.accounts;
  const lines: JournalLine[] = [];
  const add = (
    kind: LineKind,
    role: AccountRole,
    account: LedgerAccount,
    description: string,
    signedCents: number,
  ) => {
    if (signedCents !== 0)
      lines.push(lineOf(kind, role, account, description, signedCents));
  };

  for (const [brand, group] of Object.entries(totals.byPaymentBrand)) {
    const clearing = clearingAccountOf(settings, brand);
    add(
      "payments",
      "cardClearing",
      clearing.account,
      clearing.description("Card payments"),
      group.collectedCents,
    );
    add(
      "refundedPayments",
      "cardClearing",
      clearing.account,
      clearing.description("Card refunds"),
      -group.refundedCents,
    );
  }

  add(
    "discounts",
    "discounts",
    accounts.discounts,
    "Discounts",
    totals.discountCents,
  );
  add(
    "grossSales",
    "sales",
    accounts.sales,
    "Gross sales",
    -totals.grossSalesCents,
  );
  add("fees", "fees", accounts.fees, "Service fees", -totals.feeCents);
  add(
    "salesTax",
    "salesTaxPayable",
    accounts.salesTaxPayable,
    "Sales tax",
    -totals.taxCents,
  );
  add("tips", "tipsPayable", accounts.tipsPayable, "Tips", -totals.tipCents);

  const refunds = totals.refunds;
  add(
    "refundedSales",
    "refunds",
    accounts.refunds,
    "Refunded sales",
    refunds.salesCents,
  );
  add(
    "refundedFees",
    "fees",
    accounts.fees,
    "Refunded service fees",
    refunds.feeCents,
  );
  add(
    "refundedSalesTax",
    "salesTaxPayable",
    accounts.salesTaxPayable,
    "Refunded sales tax",
    refunds.taxCents,
  );
  add(
    "refundedTips",
    "tipsPayable",
    accounts.tipsPayable,
    "Refunded tips",
    refunds.tipCents,
  );

  return sortLines(mergeLines(lines));
}

/**
 * Returns the lines that turn what was posted into what should be posted: for each line key,
 * the difference of the signed amounts (debit minus credit), without zero lines.
 */
export function differenceLines(
  posted: readonly JournalLine[],
  wanted: readonly JournalLine[],
): JournalLine[] {
  const negated = posted.map((line) =>
    lineOf(
      line.kind,
      line.role,
      line.account,
      line.description,
      line.creditCents - line.debitCents,
    ),
  );
  return sortLines(mergeLines([...negated, ...wanted]));
}

/** Adds two sets of lines, such as everything posted so far and a correction. */
export function sumLines(
  a: readonly JournalLine[],
  b: readonly JournalLine[],
): JournalLine[] {
  return sortLines(mergeLines([...a, ...b]));
}

/** Computes a SHA-256 digest of lines in their canonical order, to tell whether a day changed. */
export function checksumOf(lines: readonly JournalLine[]): string {
  const canonical = sortLines(lines).map((line) => [
    line.kind,
    line.role,
    line.account.name,
    line.account.code,
    line.description,
    line.debitCents,
    line.creditCents,
  ]);
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex");
}

/** Input of `buildEntry` besides the lines. */
export interface EntryHeader {
  restaurant: RestaurantConfig;
  businessDate: string;
  revision: number;
  kind: JournalEntry["kind"];
}

/** Wraps lines into an entry with its journal number, memo and totals, and checks its balance. */
export function buildEntry(
  header: EntryHeader,
  lines: JournalLine[],
): JournalEntry {
  const { restaurant, businessDate, revision, kind } = header;
  const memo =
    kind === "day"
      ? `Bbot sales ${businessDate}, ${restaurant.name}`
      : `Correction ${revision} of Bbot sales ${businessDate}, ${restaurant.name}`;
  const entry: JournalEntry = {
    restaurantId: restaurant.id,
    restaurantName: restaurant.name,
    businessDate,
    revision,
    kind,
    journalNo: journalNumberOf(restaurant.id, businessDate, revision),
    memo,
    currency: restaurant.currency,
    totalDebitCents: sumOf(lines, "debitCents"),
    totalCreditCents: sumOf(lines, "creditCents"),
    lines,
  };
  assertBalanced(entry);
  return entry;
}

/**
 * Throws an `UnbalancedEntryError` unless every amount is a non-negative integer of cents,
 * each line has exactly one side, and the debits equal the credits. The message lists each
 * side's lines so the figure that disagrees can be found.
 */
export function assertBalanced(entry: JournalEntry): void {
  const where = `journal entry ${entry.journalNo} (${entry.restaurantId} ${entry.businessDate})`;
  for (const line of entry.lines) {
    const amounts = [line.debitCents, line.creditCents];
    const valid = amounts.every(
      (amount) => Number.isSafeInteger(amount) && amount >= 0,
    );
    if (!valid || line.debitCents > 0 === line.creditCents > 0) {
      throw new UnbalancedEntryError(
        `${where} has an invalid line for ${line.account.name}: debit ${line.debitCents} cents, credit ${line.creditCents} cents; each line needs one positive integer amount`,
      );
    }
  }

  const debits = sumOf(entry.lines, "debitCents");
  const credits = sumOf(entry.lines, "creditCents");
  if (
    debits === credits &&
    debits === entry.totalDebitCents &&
    credits === entry.totalCreditCents
  )
    return;

  const side = (field: "debitCents" | "creditCents") =>
    entry.lines
      .filter((line) => line[field] > 0)
      .map(
        (line) =>
          `${line.account.name} ${line.description} ${formatCents(line[field])}`,
      )
      .join(", ") || "none";
  throw new UnbalancedEntryError(
    `${where} does not balance, so it was not written: debits ${formatCents(debits)} (stated ${formatCents(entry.totalDebitCents)}: ${side("debitCents")}) against credits ${formatCents(credits)} (stated ${formatCents(entry.totalCreditCents)}: ${side("creditCents")})`,
  );
}

/**
 * Returns the journal number of an entry: restaurant id, date without dashes and revision.
 *
 * NOTE: QuickBooks Online's API limits a journal's DocNumber to 21 characters. A restaurant
 * id longer than 8 characters gives a longer number, which this code does not shorten.
 */
export function journalNumberOf(
  restaurantId: string,
  businessDate: string,
  revision: number,
): string {
  return `${restaurantId}-${businessDate.replaceAll("-", "")}-${revision}`;
}

function clearingAccountOf(
  settings: ExportSettings,
  brand: string,
): { account: LedgerAccount; description: (base: string) => string } {
  const wanted = brand.toLowerCase();
  const match = settings.accounts.cardClearingByBrand.find(
    (entry) => entry.brand.toLowerCase() === wanted,
  );
  if (!match)
    return {
      account: settings.accounts.cardClearing,
      description: (base) => base,
    };
  return {
    account: { name: match.name, code: match.code },
    description: (base) => `${base} (${match.brand})`,
  };
}

function lineOf(
  kind: LineKind,
  role: AccountRole,
  account: LedgerAccount,
  description: string,
  signedCents: number,
): JournalLine {
  return {
    kind,
    role,
    account: { name: account.name, code: account.code },
    description,
    debitCents: signedCents > 0 ? signedCents : 0,
    creditCents: signedCents < 0 ? -signedCents : 0,
  };
}

function keyOf(line: JournalLine): string {
  return JSON.stringify([
    line.kind,
    line.role,
    line.account.name,
    line.account.code,
    line.description,
  ]);
}

/** Sums lines that share kind, account and description, and drops the zero ones. */
function mergeLines(lines: readonly JournalLine[]): JournalLine[] {
  const merged = new Map<string, JournalLine>();
  for (const line of lines) {
    const key = keyOf(line);
    const before = merged.get(key);
    const signed =
      line.debitCents -
      line.creditCents +
      (before ? before.debitCents - before.creditCents : 0);
    merged.set(
      key,
      lineOf(line.kind, line.role, line.account, line.description, signed),
    );
  }
  return [...merged.values()].filter(
    (line) => line.debitCents !== 0 || line.creditCents !== 0,
  );
}

function sortLines(lines: readonly JournalLine[]): JournalLine[] {
  return [...lines].sort(
    (a, b) =>
      LINE_KINDS.indexOf(a.kind) - LINE_KINDS.indexOf(b.kind) ||
      compareText(a.account.code, b.account.code) ||
      compareText(a.account.name, b.account.name) ||
      compareText(a.description, b.description),
  );
}

function compareText(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

function sumOf(
  lines: readonly JournalLine[],
  field: "debitCents" | "creditCents",
): number {
  return lines.reduce((sum, line) => sum + line[field], 0);
}
