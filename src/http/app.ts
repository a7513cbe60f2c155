import { bodyParser } from "@koa/bodyparser";
import Router from "@koa/router";
import Koa, { type Context, type Next } from "koa";
import type { Logger } from "pino";

import type { Metrics } from "../metrics.ts";
import { adminRouter, type AdminDeps } from "./admin.ts";
import { webhookRoute, type WebhookRouteOptions } from "./webhook.ts";

export interface AppDeps {
  logger: Logger;
  metrics: Metrics;
  webhook: WebhookRouteOptions;
  /** Absent when `BBOT_BRIDGE_ADMIN_TOKEN` is unset: the admin API is then off. */
  admin?: AdminDeps;
  /** Extra admin routes, such as the accounting export's, mounted behind the same token. */
  extraAdminRoutes?: (router: Router) => void;
  /** Checks for `/readyz`: each returns true when its part is ready. */
  readiness: Record<string, ReadinessCheck>;
  /** True once shutdown has begun: `/readyz` then fails and responses close their connection. */
  isStopping?: () => boolean;
}

/** One part of `/readyz`; a check that throws counts as not ready. */
export type ReadinessCheck = () => Promise<boolean> | boolean;

/** Builds the Koa app: error handling, request log, webhook, health, metrics and admin routes. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = false;

  app.use(errorHandler(deps.logger));
  app.use(requestLog(deps.logger));
  if (deps.isStopping) app.use(closeWhenStopping(deps.isStopping));

  const router = new Router();
  router.post("/webhooks/bbot", webhookRoute(deps.webhook));
  router.get("/healthz", (ctx) => {
    ctx.body = { status: "ok" };
  });
  router.get("/readyz", async (ctx) => {
    const checks = await runReadinessChecks(deps);
    const ready = Object.values(checks).every(Boolean);
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? "ready" : "not ready", checks };
  });
  router.get("/metrics", async (ctx) => {
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.render();
  });
  app.use(router.routes()).use(router.allowedMethods());

  if (deps.admin) {
    const admin = adminRouter(deps.admin);
    deps.extraAdminRoutes?.(admin);
    app.use(bodyParser({ enableTypes: ["json"], jsonLimit: "1mb" }));
    app.use(admin.routes()).use(admin.allowedMethods());
  }

  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = { error: `no route for ${ctx.method} ${ctx.path}` };
  });

  app.on("error", (error: Error, ctx?: Context) => {
    deps.logger.error(
      { err: error, method: ctx?.method, path: ctx?.path },
      "request failed",
    );
  });
  return app;
}

async function runReadinessChecks(
  deps: AppDeps,
): Promise<Record<string, boolean>> {
  const checks: Record<string, boolean> = {};
  if (deps.isStopping) checks.accepting = !deps.isStopping();
  for (const [name, check] of Object.entries(deps.readiness)) {
    try {
      checks[name] = await check();
    } catch (error) {
      deps.logger.warn({ err: error, check: name }, "readiness check failed");
      checks[name] = false;
    }
  }
  return checks;
}

/** Asks clients to close the connection after each response once shutdown has begun. */
function closeWhenStopping(isStopping: () => boolean) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } finally {
      if (isStopping()) ctx.set("Connection", "close");
    }
  };
}

/**
 * Sends errors as JSON: the message of a 4xx is shown, a 5xx reveals nothing internal and is
 * logged once through `app.on("error")`.
 */
function errorHandler(logger: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (error) {
      const failure = error as {
        status?: number;
        statusCode?: number;
        expose?: boolean;
        message?: string;
      };
      const status = failure.status ?? failure.statusCode ?? 500;
      ctx.status = status >= 400 && status < 600 ? status : 500;
      if (ctx.status < 500 && failure.expose !== false) {
        ctx.body = { error: failure.message ?? "bad request" };
      } else {
        ctx.body = { error: "internal error; see the service log" };
        ctx.app.emit("error", error, ctx);
      }
      logger.debug({ status: ctx.status }, "error response sent");
    }
  };
}

/** Logs one line per request: method, path, status, duration, restaurant and order id. */
function requestLog(logger: Logger) {
  return async (ctx: Context, next: Next) => {
    const started = performance.now();
    logger.trace({ method: ctx.method, path: ctx.path }, "request started");
    try {
      await next();
    } finally {
      const line = {
        method: ctx.method,
        path: ctx.path,
        status: ctx.status,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        restaurantId: ctx.state.restaurantId as string | undefined,
        orderId: ctx.state.orderId as string | undefined,
      };
      if (ctx.status >= 500) logger.error(line, "request");
      else if (
        ctx.path === "/metrics" ||
        ctx.path === "/healthz" ||
        ctx.path === "/readyz"
      )
        logger.debug(line, "request");
      else logger.info(line, "request");
    }
  };
}
