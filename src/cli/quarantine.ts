import { parseArgs } from "node:util";

import type { QuarantineEntry } from "../http/quarantine.ts";
import { AdminClient, adminTarget } from "./admin-client.ts";
import { renderTable } from "./table.ts";
import { UsageError } from "./usage.ts";

export const QUARANTINE_USAGE = `Usage: bbot-bridge quarantine <list|show|replay> [options]

Inspects and replays webhook bodies the service rejected after authentication, through
the running service's admin API (needs BBOT_BRIDGE_ADMIN_TOKEN).

  list                 rejected bodies of the last 30 days, newest first
  show ID              one entry with its headers and body
  replay [ID...]       run bodies through the webhook checks again, for example after
                       adding a missing restaurant to the config; without ids, every
                       entry matching the filters

Filters (list, replay):
  --reason R           invalid_json, invalid_payload, unknown_restaurant,
                       wrong_restaurant, unsupported_media_type or too_large
  --since TIME         received at or after this ISO 8601 time
  --until TIME         received at or before this ISO 8601 time

  --json               JSON instead of a table
  --url URL            the service's address (default http://127.0.0.1:$PORT)
`;

/** Runs `bbot-bridge quarantine ...`; returns the exit code. */
export async function runQuarantineCommand(
  argv: string[],
  out: (text: string) => void,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      reason: { type: "string" },
      since: { type: "string" },
      until: { type: "string" },
      json: { type: "boolean", default: false },
      url: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  const [action, ...ids] = positionals;
  if (values.help || !action) {
    out(QUARANTINE_USAGE);
    return values.help ? 0 : 2;
  }

  const client = new AdminClient(adminTarget(values.url));
  const filter = {
    reason: values.reason,
    since: values.since,
    until: values.until,
  };

  switch (action) {
    case "list": {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(filter))
        if (value !== undefined) query.set(key, value);
      const { entries } = await client.request<{ entries: QuarantineEntry[] }>(
        "GET",
        `/quarantine?${query}`,
      );
      if (values.json) out(JSON.stringify(entries, null, 2));
      else if (entries.length === 0) out("no quarantined bodies match");
      else {
        out(
          renderTable(
            [
              "ID",
              "RECEIVED",
              "STATUS",
              "REASON",
              "BYTES",
              "REPLAYS",
              "MESSAGE",
            ],
            entries.map((entry) => [
              entry.id,
              entry.receivedAt.replace(/\.\d{3}Z$/, "Z"),
              String(entry.status),
              entry.reason,
              String(entry.bodyBytes),
              String(entry.replays.length),
              entry.message.slice(0, 70),
            ]),
          ),
        );
      }
      return 0;
    }
    case "show": {
      if (ids.length !== 1)
        throw new UsageError(
          "quarantine show needs exactly one entry id",
          QUARANTINE_USAGE,
        );
      const { entry } = await client.request<{ entry: QuarantineEntry }>(
        "GET",
        `/quarantine/${encodeURIComponent(ids[0]!)}`,
      );
      out(JSON.stringify(entry, null, 2));
      return 0;
    }
    case "replay": {
      const result = await client.request<{
        matched: number;
        results: { id: string; status: number; outcome: string }[];
        notFound: string[];
      }>("POST", "/quarantine/replay", {
        ...filter,
        ...(ids.length ? { ids } : {}),
      });
      if (values.json) out(JSON.stringify(result, null, 2));
      else {
        out(`${result.matched} matched`);
        for (const item of result.results)
          out(`  ${item.id}: HTTP ${item.status} ${item.outcome}`);
        for (const id of result.notFound) out(`  not found: ${id}`);
      }
      // A body rejected again, or an id that matches nothing, is a failure to look at.
      const rejected = result.results.some(
        (item) => item.status >= 300 || item.status === 0,
      );
      return rejected || result.notFound.length > 0 ? 1 : 0;
    }
    default:
      throw new UsageError(
        `unknown quarantine action ${JSON.stringify(action)}; use list, show or replay`,
        QUARANTINE_USAGE,
      );
  }
}
