import { shiftDate } from "../bbot/business-date.ts";
import { dayPartition } from "./keys.ts";
import type { Store, TableName } from "./store.ts";

/**
 * Deletes the partitions of a table kept by UTC day (`YYYY-MM-DD…`) that are older than
 * `retentionDays` before `now`, a whole file at a time. Returns the number deleted.
 */
export async function dropDaysBefore(
  store: Store,
  table: TableName,
  retentionDays: number,
  now: number,
): Promise<number> {
  const oldestKept = shiftDate(dayPartition(now), -retentionDays);
  let dropped = 0;
  for (const partition of await store.partitions(table)) {
    if (partition.slice(0, 10) < oldestKept) {
      await store.dropPartition(table, partition);
      dropped += 1;
    }
  }
  return dropped;
}
