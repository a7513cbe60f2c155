import type { StoreOp } from "../store/store.ts";
import type { JournalEntry, JournalLine } from "./entry.ts";

/** One journal entry written for a business date. */
export interface LedgerRevision {
  revision: number;
  kind: JournalEntry["kind"];
  /** Digest of this revision's lines. */
  checksum: string;
  exportedAt: string;
  /** File names under `<dataDir>/exports/` written for it. */
  files: string[];
  /** Kept so a file in another format can be written for it later, with the same content. */
  entry: JournalEntry;
}

/**
 * The export ledger's row for one restaurant and business date, in table `exports`,
 * partition = restaurant id, key `${restaurantId}:${businessDate}`. `posted` is the sum of
 * every revision written so far, which the next forced run compares with the store.
 */
export interface LedgerRecord {
  restaurantId: string;
  businessDate: string;
  /** The latest revision; 0 when the date was checked and had nothing to post. */
  revision: number;
  /** Digest of `posted`. */
  checksum: string;
  posted: JournalLine[];
  revisions: LedgerRevision[];
  createdAt: string;
  updatedAt: string;
}

/** Returns the store address of a ledger row. */
export function ledgerAddress(
  restaurantId: string,
  businessDate: string,
): { table: "exports"; partition: string; key: string } {
  return {
    table: "exports",
    partition: restaurantId,
    key: `${restaurantId}:${businessDate}`,
  };
}

/** Returns the store change that saves a ledger row. */
export function saveLedgerOp(record: LedgerRecord): StoreOp {
  return {
    ...ledgerAddress(record.restaurantId, record.businessDate),
    value: record,
  };
}
