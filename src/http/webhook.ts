import type { Context } from "koa";
import getRawBody from "raw-body";
import type { Logger } from "pino";

import { validateWebhook, type BbotWebhook } from "../bbot/payload.ts";
import type { RestaurantConfig } from "../config/schema.ts";
import type { Metrics } from "../metrics.ts";
import type { OrderIngestor } from "../orders/ingest.ts";
import { StoreCorruptError, StoreUnavailableError } from "../store/errors.ts";
import { authenticatedRestaurants } from "./auth.ts";
import type { Quarantine, RejectReason } from "./quarantine.ts";

/** The response to one webhook: an HTTP status and its JSON body. */
export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
  restaurantId?: string;
  orderId?: string;
}

/** A rejection, before it is quarantined and sent as the response. */
interface Rejection {
  reason: RejectReason;
  status: number;
  message: string;
  problems?: { path: string; message: string }[];
}

/**
 * Turns a webhook body into stored events. Shared by the HTTP route and quarantine replay, so
 * a replayed body goes through exactly the checks a new one does.
 */
export class WebhookProcessor {
  constructor(
    private readonly restaurants: readonly RestaurantConfig[],
    private readonly ingestor: OrderIngestor,
    private readonly metrics: Metrics,
  ) {}

  /**
   * Parses, validates and ingests a body sent with the credentials of `authenticated`
   * restaurants. Returns a rejection for bad input, or the response for an accepted body.
   * Throws only when the store fails.
   */
  async process(
    raw: Buffer,
    authenticated: readonly RestaurantConfig[],
  ): Promise<WebhookAnswer | Rejection> {
    const parsed = parseJson(raw);
    if ("reason" in parsed) return parsed;

    const checked = validateWebhook(parsed.value);
    if (!checked.ok) {
      return {
        reason: "invalid_payload",
        status: 422,
        message: `the body is not a valid Bbot order webhook: ${checked.problems
          .map((problem) => `${problem.path || "(body)"} ${problem.message}`)
          .join("; ")}`,
        problems: checked.problems,
      };
    }

    const restaurant = this.matchRestaurant(checked.payload);
    if (!restaurant) {
      return {
        reason: "unknown_restaurant",
        status: 404,
        message: `no configured restaurant has bbotRestaurantId ${JSON.stringify(checked.payload.order.restaurant_id)} or customerId ${JSON.stringify(checked.payload.restaurant_id ?? null)}; add it to the config`,
        problems: [
          {
            path: "order.restaurant_id",
            message: "matches no configured restaurant",
          },
        ],
      };
    }
    if (!authenticated.some((candidate) => candidate.id === restaurant.id)) {
      return {
        reason: "wrong_restaurant",
        status: 403,
        message: `the credentials sent are not those of restaurant ${restaurant.id}; give Bbot that restaurant's credentials`,
      };
    }

    const result = await this.ingestor.ingest(checked.payload, restaurant);
    this.metrics.webhooks.inc({ outcome: result.outcome });
    for (const event of result.events)
      this.metrics.events.inc({ type: event.type });
    return {
      status: 200,
      restaurantId: restaurant.id,
      orderId: result.orderId,
      body: {
        outcome: result.outcome,
        orderId: result.orderId,
        revision: result.revision,
        events: result.events.map((event) => ({
          id: event.id,
          type: event.type,
        })),
        warnings: result.warnings,
      },
    };
  }

  private matchRestaurant(payload: BbotWebhook): RestaurantConfig | undefined {
    const bbotId = payload.order.restaurant_id;
    const customerId =
      payload.restaurant_id === undefined || payload.restaurant_id === null
        ? undefined
        : String(payload.restaurant_id);
    return (
      this.restaurants.find(
        (restaurant) => restaurant.bbotRestaurantId === bbotId,
      ) ??
      this.restaurants.find(
        (restaurant) =>
          customerId !== undefined && restaurant.customerId === customerId,
      )
    );
  }
}

/** Rejects invalid byte sequences instead of turning them into U+FFFD. */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

function parseJson(raw: Buffer): { value: unknown } | Rejection {
  let text: string;
  try {
    text = UTF8.decode(raw).replace(/^\uFEFF/, "");
  } catch {
    return {
      reason: "invalid_json",
      status: 400,
      message: "the body is not valid UTF-8; send the JSON encoded as UTF-8",
      problems: [{ path: "", message: "is not valid UTF-8" }],
    };
  }
  if (text.trim() === "") {
    return {
      reason: "invalid_json",
      status: 400,
      message: "the body is empty; send the order webhook as a JSON object",
      problems: [{ path: "", message: "is empty" }],
    };
  }
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return {
      reason: "invalid_json",
      status: 400,
      message: `the body is not valid JSON: ${(error as Error).message}`,
      problems: [{ path: "", message: (error as Error).message }],
    };
  }
}

/** Options of the webhook route. */
export interface WebhookRouteOptions {
  restaurants: readonly RestaurantConfig[];
  processor: WebhookProcessor;
  quarantine: Quarantine;
  metrics: Metrics;
  logger: Logger;
  bodyLimitBytes: number;
}

/**
 * Handles `POST /webhooks/bbot`: Basic auth first (nothing is read or stored for a request
 * without valid credentials), then content type, size, JSON, schema and restaurant checks.
 * Every rejection after auth is quarantined. 2xx means the order, its events and their
 * deliveries are flushed to disk; a store failure gets a 503 so Bbot's retry can succeed later.
 */
export function webhookRoute(options: WebhookRouteOptions) {
  return async (ctx: Context): Promise<void> => {
    const authenticated = authenticatedRestaurants(
      ctx.get("authorization") || undefined,
      options.restaurants,
    );
    if (authenticated.length === 0) {
      options.metrics.webhooks.inc({ outcome: "unauthorized" });
      ctx.set("WWW-Authenticate", 'Basic realm="bbot-bridge", charset="UTF-8"');
      ctx.status = 401;
      ctx.body = {
        error:
          "missing or invalid credentials; send the restaurant's user and password as HTTP Basic auth",
        reason: "unauthorized",
      };
      return;
    }
    ctx.state.restaurantId =
      authenticated.length === 1 ? authenticated[0]!.id : undefined;

    const answer = await receive(ctx, options, authenticated);
    ctx.status = answer.status;
    ctx.body = answer.body;
    for (const [name, value] of Object.entries(answer.headers ?? {}))
      ctx.set(name, value);
    if (answer.restaurantId) ctx.state.restaurantId = answer.restaurantId;
    if (answer.orderId) ctx.state.orderId = answer.orderId;
  };
}

async function receive(
  ctx: Context,
  options: WebhookRouteOptions,
  authenticated: RestaurantConfig[],
): Promise<WebhookAnswer> {
  const reject = (
    rejection: Rejection,
    body: Buffer | undefined,
    bodyBytes?: number,
  ) =>
    quarantineAndAnswer(
      options,
      ctx,
      authenticated,
      rejection,
      body,
      bodyBytes,
    );

  const isJson = ctx.is("application/json", "application/*+json");
  let raw: Buffer;
  try {
    raw = await getRawBody(ctx.req, { limit: options.bodyLimitBytes });
  } catch (error) {
    const failure = error as {
      type?: string;
      expected?: number;
      length?: number;
    };
    if (failure.type === "entity.too.large") {
      return reject(
        {
          reason: "too_large",
          status: 413,
          message: `the body exceeds the limit of ${options.bodyLimitBytes} bytes; raise server.bodyLimitBytes in the config if such orders are real`,
        },
        undefined,
        failure.length ?? failure.expected,
      );
    }
    return {
      status: 400,
      body: {
        error: `the request body could not be read: ${(error as Error).message}`,
        reason: "unreadable_body",
      },
    };
  }

  const encoding = (ctx.get("content-encoding") || "identity").toLowerCase();
  if (encoding !== "identity") {
    return reject(
      {
        reason: "unsupported_media_type",
        status: 415,
        message: `Content-Encoding ${JSON.stringify(encoding)} is not supported; send the JSON uncompressed`,
      },
      raw,
    );
  }

  if (!isJson) {
    return reject(
      {
        reason: "unsupported_media_type",
        status: 415,
        message: `Content-Type ${JSON.stringify(ctx.get("content-type") || "(none)")} is not supported; send application/json (or another +json type)`,
      },
      raw,
    );
  }

  try {
    const result = await options.processor.process(raw, authenticated);
    if ("reason" in result) return reject(result, raw);
    return result;
  } catch (error) {
    if (
      error instanceof StoreUnavailableError ||
      error instanceof StoreCorruptError
    ) {
      options.metrics.webhooks.inc({ outcome: "store_unavailable" });
      options.logger.error(
        { err: error },
        "webhook not stored: the store failed",
      );
      return {
        status: 503,
        headers: { "Retry-After": "5" },
        body: {
          error: "the order could not be stored right now; retry later",
          reason: "store_unavailable",
        },
      };
    }
    throw error;
  }
}

async function quarantineAndAnswer(
  options: WebhookRouteOptions,
  ctx: Context,
  authenticated: RestaurantConfig[],
  rejection: Rejection,
  body: Buffer | undefined,
  bodyBytes?: number,
): Promise<WebhookAnswer> {
  options.metrics.webhooks.inc({ outcome: rejection.reason });
  let quarantineId: string | undefined;
  try {
    const entry = await options.quarantine.add({
      ...rejection,
      authenticatedAs: authenticated.map((restaurant) => restaurant.id),
      headers: ctx.headers,
      body,
      ...(bodyBytes === undefined ? {} : { bodyBytes }),
    });
    quarantineId = entry.id;
  } catch (error) {
    options.logger.error(
      { err: error, reason: rejection.reason },
      "rejected webhook body could not be quarantined",
    );
  }

  options.logger.warn(
    {
      reason: rejection.reason,
      status: rejection.status,
      quarantineId,
      problems: rejection.problems?.map((problem) => problem.path),
    },
    "webhook rejected",
  );
  return {
    status: rejection.status,
    body: {
      error: rejection.message,
      reason: rejection.reason,
      ...(rejection.problems ? { problems: rejection.problems } : {}),
      ...(quarantineId ? { quarantineId } : {}),
    },
  };
}
