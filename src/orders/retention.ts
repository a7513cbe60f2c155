import { shiftDate } from "../bbot/business-date.ts";
import { dayPartition } from "../store/keys.ts";
import type { Store } from "../store/store.ts";

/**
 * Deletes the day files of orders and events whose business date and last change are both
 * older than `retentionDays`, a whole file at a time. A file in use, or an events file that an
 * open delivery still needs, is kept. Returns the number of files deleted.
 */
export async function pruneHistory(
  store: Store,
  neededEventPartitions: ReadonlySet<string>,
  retentionDays: number,
  now: number,
): Promise<number> {
  const oldestKept = shiftDate(dayPartition(now), -retentionDays);
  let dropped = 0;

  for (const table of ["orders", "events"] as const) {
    for (const partition of await store.partitions(table)) {
      if (partition.slice(0, 10) >= oldestKept) continue;
      if (table === "events" && neededEventPartitions.has(partition)) continue;
      // A late snapshot of an old order writes to its old day, which then stays a while.
      const unchangedSince = now - retentionDays * 86_400_000;
      if (await store.dropStalePartition(table, partition, unchangedSince))
        dropped += 1;
    }
  }
  return dropped;
}
