import Router from "@koa/router";
import type { Context, Next } from "koa";

import type {
  DeliveryFilter,
  DeliveryOperations,
} from "../delivery/operations.ts";
import type { DeliveryRecord, DeliveryStatus } from "../delivery/records.ts";
import { isAdminAuthorized } from "./auth.ts";
import { EVENT_TYPES } from "../orders/events.ts";
import {
  Quarantine,
  REJECT_REASONS,
  type QuarantineEntry,
} from "./quarantine.ts";
import type { WebhookProcessor } from "./webhook.ts";
import type { RestaurantConfig } from "../config/schema.ts";

/** Dependencies of the admin API. */
export interface AdminDeps {
  token: string;
  deliveries: DeliveryOperations;
  quarantine: Quarantine;
  processor: WebhookProcessor;
  restaurants: readonly RestaurantConfig[];
  retentionDays: number;
}

const STATUSES = ["open", "pending", "dead", "delivered", "discarded"];

/** A 4xx response naming the parameter and what it accepts. */
class HttpProblem extends Error {
  readonly expose = true;

  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A 400 response naming the parameter and what it accepts. */
class BadRequest extends HttpProblem {
  constructor(message: string) {
    super(400, message);
  }
}

/**
 * Builds the admin API under `/admin`: delivery and quarantine listing, inspection, retry,
 * discard and replay. Every route needs `Authorization: Bearer <BBOT_BRIDGE_ADMIN_TOKEN>`.
 */
export function adminRouter(deps: AdminDeps): Router {
  const router = new Router({ prefix: "/admin" });

  router.use(async (ctx: Context, next: Next) => {
    if (!isAdminAuthorized(ctx.get("authorization") || undefined, deps.token)) {
      ctx.set("WWW-Authenticate", 'Bearer realm="bbot-bridge admin"');
      ctx.status = 401;
      ctx.body = { error: "missing or invalid admin token" };
      return;
    }
    await next();
  });

  router.get("/deliveries", async (ctx) => {
    const records = await deps.deliveries.list(deliveryFilter(ctx.query, deps));
    ctx.body = { deliveries: records.map((record) => withHold(deps, record)) };
  });

  router.get("/deliveries/:id", async (ctx) => {
    const record = await deps.deliveries.get(
      ctx.params.id!,
      deps.retentionDays,
    );
    if (!record) {
      ctx.status = 404;
      ctx.body = {
        error: `delivery ${ctx.params.id} not found (finished ones are kept ${deps.retentionDays} days)`,
      };
      return;
    }
    ctx.body = { delivery: withHold(deps, record) };
  });

  router.post("/deliveries/retry", async (ctx) => {
    const body = bodyOf(ctx, [...DELIVERY_KEYS, "force"]);
    if (body.force !== undefined && typeof body.force !== "boolean") {
      throw new BadRequest('"force" must be true or false');
    }
    ctx.body = await deps.deliveries.retry(deliveryFilter(body, deps), {
      force: body.force === true,
    });
  });

  router.post("/deliveries/discard", async (ctx) => {
    const body = bodyOf(ctx, [...DELIVERY_KEYS, "reason"]);
    const reason = typeof body.reason === "string" ? body.reason.trim() : "";
    if (!reason)
      throw new BadRequest(
        '"reason" is required: say why these deliveries are discarded',
      );
    ctx.body = await deps.deliveries.discard(
      deliveryFilter(body, deps),
      reason,
    );
  });

  router.get("/quarantine", async (ctx) => {
    const entries = await deps.quarantine.list(quarantineFilter(ctx.query));
    ctx.body = { entries: entries.map(summarizeEntry) };
  });

  router.get("/quarantine/:id", async (ctx) => {
    const entry = await deps.quarantine.get(ctx.params.id!);
    if (!entry) {
      ctx.status = 404;
      ctx.body = { error: `quarantine entry ${ctx.params.id} not found` };
      return;
    }
    ctx.body = { entry };
  });

  router.post("/quarantine/replay", async (ctx) => {
    const body = bodyOf(ctx, ["ids", "reason", "since", "until"]);
    const ids = stringList(body.ids, "ids");
    const entries = ids
      ? (await Promise.all(ids.map((id) => deps.quarantine.get(id)))).filter(
          (entry): entry is QuarantineEntry => !!entry,
        )
      : await deps.quarantine.list(quarantineFilter(body));
    const found = new Set(entries.map((entry) => entry.id));
    const notFound = (ids ?? []).filter((id) => !found.has(id));
    const results = [];
    for (const entry of entries) results.push(await replay(deps, entry));
    ctx.body = { matched: entries.length, results, notFound };
  });

  return router;
}

/** Adds `heldBy`: the dead delivery that keeps a pending one from running, if any. */
function withHold(deps: AdminDeps, record: DeliveryRecord) {
  const heldBy = deps.deliveries.heldBy(record);
  return heldBy ? { ...record, heldBy } : record;
}

/** Runs a quarantined body through the webhook checks again, as its restaurant. */
async function replay(deps: AdminDeps, entry: QuarantineEntry) {
  if (entry.truncated) {
    return {
      id: entry.id,
      status: 0,
      outcome: "not replayable: the body was cut at the quarantine limit",
    };
  }
  const result = await deps.processor.process(
    Quarantine.bodyOf(entry),
    deps.restaurants,
  );
  const outcome =
    "reason" in result
      ? `rejected: ${result.message}`
      : String(result.body.outcome);
  const status = result.status;
  entry.replays.push({ at: new Date().toISOString(), status, outcome });
  await deps.quarantine.save(entry);
  return { id: entry.id, status, outcome };
}

function summarizeEntry(entry: QuarantineEntry) {
  const { body: _body, headers: _headers, ...summary } = entry;
  return summary;
}

const DELIVERY_KEYS = [
  "ids",
  "status",
  "restaurant",
  "adapter",
  "eventType",
  "orderId",
  "since",
  "until",
];

/**
 * Reads a POST body: a JSON object with only the given keys. Anything else is a 400 or 415,
 * because a body read as "no filter" would act on every matching record.
 */
function bodyOf(
  ctx: Context,
  allowed: readonly string[],
): Record<string, unknown> {
  if (!ctx.is("application/json")) {
    throw new HttpProblem(415, "send the body as application/json");
  }
  const body = (ctx.request as { body?: unknown }).body;
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpProblem(400, "the body must be a JSON object");
  }
  const unknown = Object.keys(body).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw new HttpProblem(
      400,
      `unknown key ${unknown.map((key) => JSON.stringify(key)).join(", ")}; allowed: ${allowed.join(", ")}`,
    );
  }
  return body as Record<string, unknown>;
}

function stringList(value: unknown, name: string): string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === "string" ? value.split(",") : value;
  if (!Array.isArray(list) || !list.every((item) => typeof item === "string")) {
    throw new BadRequest(`"${name}" must be a list of ids`);
  }
  return list.map((item) => item.trim()).filter((item) => item !== "");
}

function timeParam(value: unknown, name: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  const parsed = typeof value === "number" ? value : Date.parse(String(value));
  if (Number.isNaN(parsed))
    throw new BadRequest(
      `"${name}" must be an ISO 8601 time such as 2026-12-04T18:00:00Z`,
    );
  return parsed;
}

/** Reads an optional parameter that must be one of the known values. */
function oneOf(
  value: unknown,
  name: string,
  allowed: readonly string[],
): string | undefined {
  const given = text(value);
  if (given === undefined) return undefined;
  if (!allowed.includes(given)) {
    throw new BadRequest(
      `"${name}" ${JSON.stringify(given)} is not known; use one of: ${allowed.join(", ")}`,
    );
  }
  return given;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function deliveryFilter(
  source: Record<string, unknown>,
  deps: Pick<AdminDeps, "restaurants">,
): DeliveryFilter {
  const status = text(source.status);
  if (status !== undefined && !STATUSES.includes(status)) {
    throw new BadRequest(`"status" must be one of ${STATUSES.join(", ")}`);
  }
  const limit = source.limit === undefined ? undefined : Number(source.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
    throw new BadRequest('"limit" must be a positive integer');

  const filter: DeliveryFilter = {};
  const ids = stringList(source.ids, "ids");
  if (ids) filter.ids = ids;
  if (status) filter.status = status as DeliveryStatus | "open";
  const restaurant = oneOf(
    source.restaurant,
    "restaurant",
    deps.restaurants.map((entry) => entry.id),
  );
  if (restaurant) filter.restaurant = restaurant;
  const adapter = oneOf(source.adapter, "adapter", [
    ...new Set(
      deps.restaurants.flatMap((entry) =>
        entry.adapters.map((item) => item.name),
      ),
    ),
  ]);
  if (adapter) filter.adapter = adapter;
  const eventType = oneOf(source.eventType, "eventType", EVENT_TYPES);
  if (eventType) filter.eventType = eventType;
  const orderId = text(source.orderId);
  if (orderId) filter.orderId = orderId;
  const since = timeParam(source.since, "since");
  if (since !== undefined) filter.since = since;
  const until = timeParam(source.until, "until");
  if (until !== undefined) filter.until = until;
  if (limit !== undefined) filter.limit = limit;
  return filter;
}

function quarantineFilter(source: Record<string, unknown>): {
  reason?: string;
  since?: number;
  until?: number;
} {
  const filter: { reason?: string; since?: number; until?: number } = {};
  const reason = oneOf(source.reason, "reason", REJECT_REASONS);
  if (reason) filter.reason = reason;
  const since = timeParam(source.since, "since");
  if (since !== undefined) filter.since = since;
  const until = timeParam(source.until, "until");
  if (until !== undefined) filter.until = until;
  return filter;
}
