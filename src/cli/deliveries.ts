import { parseArgs } from "node:util";

import type { BulkResult } from "../delivery/operations.ts";
import type { DeliveryRecord } from "../delivery/records.ts";
import { AdminClient, adminTarget } from "./admin-client.ts";
import { formatTime, renderTable } from "./table.ts";
import { UsageError } from "./usage.ts";

export const DELIVERIES_USAGE = `Usage: bbot-bridge deliveries <list|show|retry|discard> [options]

Lists and repairs the deliveries of a running service through its admin API
(needs BBOT_BRIDGE_ADMIN_TOKEN, the token the service was started with).

  list                 open deliveries (pending and dead letters), newest first
  show ID              one delivery with its attempt history
  retry [ID...]        make deliveries pending again; without ids, all dead letters
                       matching the filters; --force also sends delivered ones again
  discard [ID...] --reason TEXT
                       drop deliveries for good, keeping the reason

Filters (list, retry, discard):
  --status S           open, pending, dead, delivered or discarded (list default: open)
  --restaurant ID      a restaurant id from the config
  --adapter NAME       an adapter name from the config
  --event-type TYPE    an event type such as order.refunded
  --order ID           a Bbot order id
  --since TIME         created at or after this ISO 8601 time
  --until TIME         created at or before this ISO 8601 time
  --limit N            at most N rows (list)

Output:
  --json               JSON instead of a table
  --url URL            the service's address (default http://127.0.0.1:$PORT)
`;

/** Runs `bbot-bridge deliveries ...`; returns the exit code. */
export async function runDeliveriesCommand(
  argv: string[],
  out: (text: string) => void,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      status: { type: "string" },
      restaurant: { type: "string" },
      adapter: { type: "string" },
      "event-type": { type: "string" },
      order: { type: "string" },
      since: { type: "string" },
      until: { type: "string" },
      limit: { type: "string" },
      reason: { type: "string" },
      force: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      url: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  const [action, ...ids] = positionals;
  if (values.help || !action) {
    out(DELIVERIES_USAGE);
    return values.help ? 0 : 2;
  }

  const client = new AdminClient(adminTarget(values.url));
  const filter = {
    status: values.status,
    restaurant: values.restaurant,
    adapter: values.adapter,
    eventType: values["event-type"],
    orderId: values.order,
    since: values.since,
    until: values.until,
  };

  switch (action) {
    case "list": {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries({
        ...filter,
        limit: values.limit,
      })) {
        if (value !== undefined) query.set(key, value);
      }
      const { deliveries } = await client.request<{
        deliveries: DeliveryRecord[];
      }>("GET", `/deliveries?${query}`);
      out(
        values.json
          ? JSON.stringify(deliveries, null, 2)
          : deliveriesTable(deliveries),
      );
      return 0;
    }
    case "show": {
      if (ids.length !== 1)
        throw new UsageError(
          "deliveries show needs exactly one delivery id",
          DELIVERIES_USAGE,
        );
      const { delivery } = await client.request<{ delivery: DeliveryRecord }>(
        "GET",
        `/deliveries/${encodeURIComponent(ids[0]!)}`,
      );
      out(
        values.json
          ? JSON.stringify(delivery, null, 2)
          : describeDelivery(delivery),
      );
      return 0;
    }
    case "retry": {
      const result = await client.request<BulkResult>(
        "POST",
        "/deliveries/retry",
        {
          ...filter,
          ...(ids.length ? { ids } : {}),
          ...(values.force ? { force: true } : {}),
        },
      );
      out(
        values.json
          ? JSON.stringify(result, null, 2)
          : summarize("retried", result),
      );
      return result.notFound.length > 0 ? 1 : 0;
    }
    case "discard": {
      if (!values.reason)
        throw new UsageError(
          "deliveries discard needs --reason TEXT saying why",
          DELIVERIES_USAGE,
        );
      const result = await client.request<BulkResult>(
        "POST",
        "/deliveries/discard",
        {
          ...filter,
          ...(ids.length ? { ids } : {}),
          reason: values.reason,
        },
      );
      out(
        values.json
          ? JSON.stringify(result, null, 2)
          : summarize("discarded", result),
      );
      return result.notFound.length > 0 ? 1 : 0;
    }
    default:
      throw new UsageError(
        `unknown deliveries action ${JSON.stringify(action)}; use list, show, retry or discard`,
        DELIVERIES_USAGE,
      );
  }
}

/** A delivery as the admin API lists it, with the dead one holding it back, if any. */
type ListedDelivery = DeliveryRecord & { heldBy?: string };

function nextAttempt(record: ListedDelivery): string {
  if (record.heldBy) return `held by ${record.heldBy}`;
  return record.status === "pending" ? formatTime(record.nextAttemptAt) : "-";
}

function deliveriesTable(records: ListedDelivery[]): string {
  if (records.length === 0) return "no deliveries match";
  return renderTable(
    [
      "ID",
      "STATUS",
      "RESTAURANT",
      "ADAPTER",
      "EVENT",
      "ORDER",
      "ATTEMPTS",
      "NEXT ATTEMPT",
      "LAST ERROR",
    ],
    records.map((record) => [
      record.id,
      record.status,
      record.restaurantId,
      record.adapter,
      record.eventType,
      record.orderId ?? "-",
      String(record.attempts),
      nextAttempt(record),
      (record.reason ?? record.lastError?.message ?? "").slice(0, 60),
    ]),
  );
}

function describeDelivery(record: ListedDelivery): string {
  const lines = [
    `delivery     ${record.id}`,
    `status       ${record.status}${record.reason ? ` (${record.reason})` : ""}`,
    `restaurant   ${record.restaurantId}`,
    `adapter      ${record.adapter}`,
    `event        ${record.eventType} ${record.eventId}`,
    `order        ${record.orderId ?? "-"}`,
    `created      ${formatTime(record.createdAt)}`,
    `attempts     ${record.attempts}`,
    `next attempt ${nextAttempt(record)}`,
    `last error   ${record.lastError ? `${record.lastError.message}${record.lastError.status ? ` (HTTP ${record.lastError.status})` : ""}` : "-"}`,
  ];
  if (record.lastError?.bodyExcerpt)
    lines.push(`response     ${record.lastError.bodyExcerpt}`);
  if (record.history.length > 0) {
    lines.push(
      "",
      renderTable(
        ["ATTEMPT", "AT", "MS", "OUTCOME", "STATUS", "MESSAGE"],
        record.history.map((attempt) => [
          String(attempt.attempt),
          formatTime(attempt.at),
          String(attempt.durationMs),
          attempt.outcome,
          attempt.status === undefined ? "-" : String(attempt.status),
          attempt.message ?? "",
        ]),
      ),
    );
  }
  return lines.join("\n");
}

function summarize(verb: string, result: BulkResult): string {
  const lines = [`${result.matched} matched, ${result.changed.length} ${verb}`];
  for (const id of result.changed) lines.push(`  ${verb} ${id}`);
  for (const skipped of result.skipped)
    lines.push(`  skipped ${skipped.id}: ${skipped.reason}`);
  for (const id of result.notFound) lines.push(`  not found: ${id}`);
  return lines.join("\n");
}
