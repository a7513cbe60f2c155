import { randomUUID } from "node:crypto";

import type { Clock } from "../delivery/contract.ts";
import { dayPartition } from "../store/keys.ts";
import { dropDaysBefore } from "../store/retention.ts";
import type { Store } from "../store/store.ts";

/** Reason codes of rejected webhook bodies. */
export const REJECT_REASONS = [
  "unsupported_media_type",
  "too_large",
  "invalid_json",
  "invalid_payload",
  "unknown_restaurant",
  "wrong_restaurant",
] as const;

/** Reason code of a rejected webhook body. */
export type RejectReason = (typeof REJECT_REASONS)[number];

/** A rejected webhook body, kept so an operator can inspect it and replay it once fixed. */
export interface QuarantineEntry {
  id: string;
  receivedAt: string;
  reason: RejectReason;
  status: number;
  message: string;
  problems: { path: string; message: string }[];
  /** Restaurants whose credentials the request carried. */
  authenticatedAs: string[];
  /** Request headers without `Authorization` and `Cookie`. */
  headers: Record<string, string>;
  /** The body as UTF-8 text, or base64 when it is not valid UTF-8; cut at the configured limit. */
  body: string;
  bodyEncoding: "utf8" | "base64";
  bodyBytes: number;
  truncated: boolean;
  replays: { at: string; status: number; outcome: string }[];
}

const DROPPED_HEADERS = new Set([
  "authorization",
  "cookie",
  "proxy-authorization",
]);

/** Copies request headers without credentials. */
export function safeHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const copy: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || DROPPED_HEADERS.has(name.toLowerCase()))
      continue;
    copy[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return copy;
}

/** Stores and finds quarantined webhook bodies, one store partition per UTC day. */
export class Quarantine {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly bodyLimitBytes: number,
  ) {}

  /** Stores a rejected body; resolves with its id once it is on disk. */
  async add(input: {
    reason: RejectReason;
    status: number;
    message: string;
    problems?: { path: string; message: string }[];
    authenticatedAs: string[];
    headers: Record<string, string | string[] | undefined>;
    body: Buffer | undefined;
    bodyBytes?: number;
  }): Promise<QuarantineEntry> {
    const now = this.clock.now();
    const raw = input.body ?? Buffer.alloc(0);
    const kept = raw.subarray(0, this.bodyLimitBytes);
    const text = kept.toString("utf8");
    const isText = Buffer.from(text, "utf8").equals(kept);

    const entry: QuarantineEntry = {
      id: `qrn_${randomUUID()}`,
      receivedAt: new Date(now).toISOString(),
      reason: input.reason,
      status: input.status,
      message: input.message,
      problems: input.problems ?? [],
      authenticatedAs: input.authenticatedAs,
      headers: safeHeaders(input.headers),
      body: isText ? text : kept.toString("base64"),
      bodyEncoding: isText ? "utf8" : "base64",
      bodyBytes: input.bodyBytes ?? raw.length,
      truncated: (input.bodyBytes ?? raw.length) > kept.length,
      replays: [],
    };
    await this.save(entry);
    return entry;
  }

  async save(entry: QuarantineEntry): Promise<void> {
    await this.store.commit([
      {
        table: "quarantine",
        partition: dayPartition(Date.parse(entry.receivedAt)),
        key: entry.id,
        value: entry,
      },
    ]);
  }

  /** Lists entries, newest first, received within the last `days` days. */
  async list(filter: {
    reason?: string;
    since?: number;
    until?: number;
    days?: number;
  }): Promise<QuarantineEntry[]> {
    const oldest =
      filter.since ?? this.clock.now() - (filter.days ?? 30) * 86_400_000;
    const oldestDay = dayPartition(oldest);
    const entries: QuarantineEntry[] = [];
    for (const partition of await this.store.partitions("quarantine")) {
      if (partition < oldestDay) continue;
      for (const [, entry] of await this.store.rows<QuarantineEntry>(
        "quarantine",
        partition,
      )) {
        const at = Date.parse(entry.receivedAt);
        if (at < oldest || (filter.until !== undefined && at > filter.until))
          continue;
        if (filter.reason && entry.reason !== filter.reason) continue;
        entries.push(entry);
      }
    }
    return entries.sort((a, b) => b.receivedAt.localeCompare(a.receivedAt));
  }

  /** Finds an entry by id; the id's day is unknown, so every kept day is searched. */
  async get(id: string): Promise<QuarantineEntry | undefined> {
    for (const partition of (
      await this.store.partitions("quarantine")
    ).reverse()) {
      const entry = await this.store.get<QuarantineEntry>(
        "quarantine",
        partition,
        id,
      );
      if (entry) return entry;
    }
    return undefined;
  }

  /** The raw bytes of an entry's body. */
  static bodyOf(entry: QuarantineEntry): Buffer {
    return Buffer.from(
      entry.body,
      entry.bodyEncoding === "base64" ? "base64" : "utf8",
    );
  }

  /** Deletes the days older than the retention period. */
  async prune(retentionDays: number): Promise<number> {
    return dropDaysBefore(
      this.store,
      "quarantine",
      retentionDays,
      this.clock.now(),
    );
  }
}
