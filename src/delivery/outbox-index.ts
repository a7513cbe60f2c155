import type { DeliveryRecord } from "./records.ts";

/**
 * The open deliveries (pending and dead) kept in memory, grouped per adapter into chains: one
 * chain per order, sorted by event sequence. The groups are kept up to date as records come
 * and go, so the worker never regroups or sorts the whole outbox.
 *
 * It also tracks which chains changed since the worker last looked, so a wake-up after a
 * commit only looks at those instead of the whole outbox.
 */
export class OutboxIndex {
  private readonly records = new Map<string, DeliveryRecord>();
  private readonly chains = new Map<string, Map<string, DeliveryRecord[]>>();
  private readonly touched = new Map<string, Set<string>>();

  get size(): number {
    return this.records.size;
  }

  get(id: string): DeliveryRecord | undefined {
    return this.records.get(id);
  }

  values(): IterableIterator<DeliveryRecord> {
    return this.records.values();
  }

  /** Adds a record or replaces the stored record with the same id. */
  set(record: DeliveryRecord): void {
    this.delete(record.id);
    this.records.set(record.id, record);

    const slot = slotOf(record);
    let bySlot = this.chains.get(slot);
    if (!bySlot) this.chains.set(slot, (bySlot = new Map()));
    const key = chainOf(record);
    const chain = bySlot.get(key);
    if (chain) insertSorted(chain, record);
    else bySlot.set(key, [record]);
    this.touch(slot, key);
  }

  delete(id: string): void {
    const record = this.records.get(id);
    if (!record) return;
    this.records.delete(id);

    const slot = slotOf(record);
    const key = chainOf(record);
    const bySlot = this.chains.get(slot);
    const chain = bySlot?.get(key);
    if (!bySlot || !chain) return;
    const index = chain.findIndex((item) => item.id === id);
    if (index >= 0) chain.splice(index, 1);
    if (chain.length === 0) bySlot.delete(key);
    this.touch(slot, key);
  }

  /** Marks a record's chain as worth a look at the next wake-up. */
  touchRecord(record: DeliveryRecord): void {
    this.touch(slotOf(record), chainOf(record));
  }

  /** Returns every chain of an adapter, oldest first. */
  chainsOf(slot: string): Iterable<[string, DeliveryRecord[]]> {
    return this.chains.get(slot)?.entries() ?? [];
  }

  /** Returns one chain of an adapter, or undefined when it has no open record. */
  chain(slot: string, key: string): DeliveryRecord[] | undefined {
    return this.chains.get(slot)?.get(key);
  }

  /** Returns the chains changed since the last call, per adapter, and clears the list. */
  takeTouched(): Map<string, Set<string>> {
    const taken = new Map(this.touched);
    this.touched.clear();
    return taken;
  }

  private touch(slot: string, key: string): void {
    let keys = this.touched.get(slot);
    if (!keys) this.touched.set(slot, (keys = new Set()));
    keys.add(key);
  }
}

/** Returns the key of a restaurant's adapter in the engine. */
export function slotKey(restaurantId: string, adapter: string): string {
  return `${restaurantId}/${adapter}`;
}

function slotOf(record: DeliveryRecord): string {
  return slotKey(record.restaurantId, record.adapter);
}

/** Deliveries of one order form one chain; deliveries without an order stand alone. */
function chainOf(record: DeliveryRecord): string {
  return record.orderId ?? record.id;
}

function insertSorted(chain: DeliveryRecord[], record: DeliveryRecord): void {
  let index = chain.length;
  while (index > 0 && compare(chain[index - 1]!, record) > 0) index -= 1;
  chain.splice(index, 0, record);
}

function compare(a: DeliveryRecord, b: DeliveryRecord): number {
  return a.sequence - b.sequence || a.createdAt - b.createdAt;
}
