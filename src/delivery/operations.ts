import { dayPartition } from "../store/keys.ts";
import { dropDaysBefore } from "../store/retention.ts";
import type { Store, StoreOp } from "../store/store.ts";
import type { Clock } from "./contract.ts";
import type { DeliveryEngine } from "./engine.ts";
import {
  saveDeliveryOps,
  type DeliveryRecord,
  type DeliveryStatus,
} from "./records.ts";

/** Filter of the deliveries an operator command applies to. Every given field must match. */
export interface DeliveryFilter {
  ids?: string[];
  status?: DeliveryStatus | "open";
  restaurant?: string;
  adapter?: string;
  eventType?: string;
  orderId?: string;
  /** Epoch milliseconds; compared with the delivery's creation time. */
  since?: number;
  until?: number;
  limit?: number;
}

/**
 * Why a running delivery is left alone: the attempt's outcome would overwrite the change when
 * it ends, bringing a discarded delivery back.
 */
const RUNNING = "an attempt is running; try again once it ends";

/** The result of a bulk operator command. */
export interface BulkResult {
  matched: number;
  changed: string[];
  skipped: { id: string; reason: string }[];
  /** Ids the command named that match no delivery. */
  notFound: string[];
}

/**
 * What an operator can do with deliveries, shared by the CLI and the admin API: list, inspect,
 * retry (dead letters, pending ones and finished ones alike) and discard with a reason.
 */
export class DeliveryOperations {
  constructor(
    private readonly engine: DeliveryEngine,
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /** Returns the id of the dead delivery that keeps a pending one from running, if any. */
  heldBy(record: DeliveryRecord): string | undefined {
    return this.engine.heldBy(record);
  }

  /** Lists deliveries, newest first. Finished ones are read from the days the filter spans. */
  async list(filter: DeliveryFilter): Promise<DeliveryRecord[]> {
    const status = filter.status ?? "open";
    let records: DeliveryRecord[];
    if (status === "open" || status === "pending" || status === "dead") {
      records = [...this.engine.open.values()];
    } else {
      records = await this.finished(filter);
    }

    const matching = records.filter((record) =>
      matches(record, { ...filter, status }),
    );
    matching.sort(
      (a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id),
    );
    return filter.limit ? matching.slice(0, filter.limit) : matching;
  }

  /** Finds one delivery by id: open ones first, then finished ones of the retention period. */
  async get(
    id: string,
    retentionDays = 7,
  ): Promise<DeliveryRecord | undefined> {
    const open = this.engine.open.get(id);
    if (open) return open;
    const since = this.clock.now() - (retentionDays + 1) * 86_400_000;
    return (await this.finished({ since })).find((record) => record.id === id);
  }

  /**
   * Makes matching deliveries pending again with a fresh retry schedule, keeping their history
   * and idempotency key. By default only dead letters match a filter without ids.
   */
  async retry(
    filter: DeliveryFilter,
    options: { force?: boolean } = {},
  ): Promise<BulkResult> {
    const targets = await this.targets(filter, "dead");
    const result = newResult(filter, targets);

    await this.changeEach(targets, result, (current) => {
      const now = this.clock.now();
      if (current.status === "pending" && current.nextAttemptAt <= now) {
        return { skip: "already pending and due" };
      }
      // Sending a finished delivery again repeats it after the order's later events.
      if (
        (current.status === "delivered" || current.status === "discarded") &&
        !options.force
      ) {
        return {
          skip: `already ${current.status}; pass --force to send it again`,
        };
      }
      const retried: DeliveryRecord = {
        ...current,
        status: "pending",
        attempts: 0,
        nextAttemptAt: now,
        updatedAt: now,
        reason: null,
        deliveredAt: null,
      };
      return {
        ops: [...removeFinishedOps(current), ...saveDeliveryOps(retried)],
      };
    });
    return result;
  }

  /** Moves matching open deliveries out of the outbox with the operator's reason. */
  async discard(filter: DeliveryFilter, reason: string): Promise<BulkResult> {
    const targets = await this.targets(filter, "dead");
    const result = newResult(filter, targets);

    await this.changeEach(targets, result, (current) => {
      if (current.status !== "pending" && current.status !== "dead") {
        return { skip: `already ${current.status}` };
      }
      const discarded: DeliveryRecord = {
        ...current,
        status: "discarded",
        reason,
        updatedAt: this.clock.now(),
      };
      return { ops: saveDeliveryOps(discarded) };
    });
    return result;
  }

  /**
   * Applies an operator's change to each target in turn. An open delivery is held while its
   * change is written, so the worker cannot start it meanwhile, and the change is built from
   * its current record: one that ran or changed since the command read it is skipped.
   */
  private async changeEach(
    targets: readonly DeliveryRecord[],
    result: BulkResult,
    change: (current: DeliveryRecord) => { ops: StoreOp[] } | { skip: string },
  ): Promise<void> {
    for (const target of targets) {
      const isOpen = target.status === "pending" || target.status === "dead";
      if (isOpen && !this.engine.hold(target.id)) {
        result.skipped.push({ id: target.id, reason: RUNNING });
        continue;
      }
      try {
        const current = isOpen ? this.engine.open.get(target.id) : target;
        if (!current || current.updatedAt !== target.updatedAt) {
          result.skipped.push({
            id: target.id,
            reason: "it changed while the command ran; run the command again",
          });
          continue;
        }
        const outcome = change(current);
        if ("skip" in outcome) {
          result.skipped.push({ id: target.id, reason: outcome.skip });
          continue;
        }
        await this.store.commit(outcome.ops);
        this.engine.committed(outcome.ops);
        result.changed.push(target.id);
      } finally {
        if (isOpen) this.engine.release(target.id);
      }
    }
  }

  /** Deletes finished deliveries older than the retention period, a whole day file at a time. */
  async prune(retentionDays: number): Promise<number> {
    return dropDaysBefore(
      this.store,
      "delivered",
      retentionDays,
      this.clock.now(),
    );
  }

  private async targets(
    filter: DeliveryFilter,
    defaultStatus: DeliveryStatus,
  ): Promise<DeliveryRecord[]> {
    if (filter.ids && filter.ids.length > 0) {
      const found: DeliveryRecord[] = [];
      for (const id of filter.ids) {
        const record = await this.get(id);
        if (record) found.push(record);
      }
      return found.filter((record) =>
        matches(record, { ...filter, ids: undefined, status: filter.status }),
      );
    }
    return this.list({
      ...filter,
      status: filter.status ?? defaultStatus,
      limit: undefined,
    });
  }

  private async finished(filter: DeliveryFilter): Promise<DeliveryRecord[]> {
    const since =
      filter.since === undefined ? undefined : dayPartition(filter.since);
    const records: DeliveryRecord[] = [];
    for (const partition of await this.store.partitions("delivered")) {
      if (since !== undefined && partition.slice(0, 10) < since) continue;
      for (const [, record] of await this.store.rows<DeliveryRecord>(
        "delivered",
        partition,
      )) {
        records.push(record);
      }
    }
    return records;
  }
}

function matches(record: DeliveryRecord, filter: DeliveryFilter): boolean {
  if (filter.ids && filter.ids.length > 0 && !filter.ids.includes(record.id))
    return false;
  if (
    filter.status &&
    filter.status !== "open" &&
    record.status !== filter.status
  )
    return false;
  if (
    filter.status === "open" &&
    record.status !== "pending" &&
    record.status !== "dead"
  )
    return false;
  if (filter.restaurant && record.restaurantId !== filter.restaurant)
    return false;
  if (filter.adapter && record.adapter !== filter.adapter) return false;
  if (filter.eventType && record.eventType !== filter.eventType) return false;
  if (filter.orderId && record.orderId !== filter.orderId) return false;
  if (filter.since !== undefined && record.createdAt < filter.since)
    return false;
  if (filter.until !== undefined && record.createdAt > filter.until)
    return false;
  return true;
}

/** Removes a finished delivery's row from the `delivered` table before it is reopened. */
function removeFinishedOps(record: DeliveryRecord) {
  if (record.status === "pending" || record.status === "dead") return [];
  return saveDeliveryOps(record)
    .filter((op) => op.table === "delivered")
    .map((op) => ({ ...op, value: undefined }));
}

function newResult(
  filter: DeliveryFilter,
  targets: readonly DeliveryRecord[],
): BulkResult {
  return {
    matched: targets.length,
    changed: [],
    skipped: [],
    notFound: missingIds(filter, targets),
  };
}

/** Returns the ids a filter names that none of the found records has. */
function missingIds(
  filter: DeliveryFilter,
  found: readonly DeliveryRecord[],
): string[] {
  const ids = new Set(found.map((record) => record.id));
  return (filter.ids ?? []).filter((id) => !ids.has(id));
}
