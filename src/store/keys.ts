/**
 * Number of files each business date's orders and events are spread over. Sixteen keeps one
 * file of a busy day (tens of thousands of orders) to a few megabytes, which serializes in
 * milliseconds during compaction.
 */
export const BUCKETS = 16;

/** Returns the bucket of an id, as two hex digits, from the id's 32-bit FNV-1a hash. */
export function bucketOf(id: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < id.length; index += 1) {
    hash ^= id.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return ((hash >>> 0) % BUCKETS).toString(16).padStart(2, "0");
}

/** Returns the partition of an order's row: its business date and its id's bucket. */
export function orderPartition(businessDate: string, orderId: string): string {
  return `${businessDate}.${bucketOf(orderId)}`;
}

/** Returns the partition of a UTC day, for records kept by the day they were made. */
export function dayPartition(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** Returns the business date part of a partition name. */
export function dateOfPartition(partition: string): string {
  return partition.slice(0, 10);
}
