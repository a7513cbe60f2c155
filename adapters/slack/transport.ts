import type { AxiosResponse } from "axios";

import type { DeliveryContext } from "../../src/delivery/contract.ts";
import {
  excerptBody,
  parseRetryAfter,
  PermanentDeliveryError,
  TransientDeliveryError,
  type FailureDetails,
} from "../../src/delivery/errors.ts";
import { sendHttp } from "../../src/delivery/http.ts";
import type { SlackMessage } from "./render.ts";

/**
 * Web API `error` codes worth retrying. Every other code, such as `channel_not_found`,
 * `invalid_auth`, `not_in_channel` or `invalid_blocks`, needs a config or Slack-side fix.
 */
const TRANSIENT_API_ERRORS = new Set([
  "ratelimited",
  "rate_limited",
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
]);

/** A permanent failure that carries Slack's `error` code, so callers can react to one code. */
export class SlackPermanentError extends PermanentDeliveryError {
  constructor(
    message: string,
    readonly slackError: string,
    details: FailureDetails,
    options?: ErrorOptions,
  ) {
    super(message, details, options);
  }
}

/** Location of a posted message: the channel id and the message's timestamp id. */
export interface PostedMessage {
  channel: string;
  ts: string;
}

/**
 * Posts a message to an incoming webhook. Slack reports failures in plain text, such as 404
 * `channel_not_found` or 400 `invalid_payload`. `label` names the channel in errors because
 * the URL is a secret.
 */
export async function postToWebhook(
  url: string,
  label: string,
  message: SlackMessage,
  context: DeliveryContext,
): Promise<void> {
  try {
    await sendHttp({ url, body: message }, context);
  } catch (error) {
    throw withTarget(error, `Slack webhook ${label}`);
  }
}

/** Bot-token access to Slack's Web API methods this adapter calls. */
export class SlackWebApi {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  /** Posts a message, or a reply when `threadTs` is given. */
  async postMessage(
    channel: string,
    message: SlackMessage,
    context: DeliveryContext,
    threadTs?: string,
  ): Promise<PostedMessage> {
    const body: Record<string, unknown> = { channel, ...message };
    if (threadTs !== undefined) body["thread_ts"] = threadTs;

    const data = await this.call("chat.postMessage", channel, body, context);
    if (typeof data["ts"] !== "string" || typeof data["channel"] !== "string") {
      throw new TransientDeliveryError(
        `Slack chat.postMessage to ${channel} returned ok without channel and ts`,
        { bodyExcerpt: excerptBody(data) },
      );
    }
    return { channel: data["channel"], ts: data["ts"] };
  }

  /** Replaces a posted message. `channel` must be the id that `postMessage` returned. */
  async update(
    posted: PostedMessage,
    message: SlackMessage,
    context: DeliveryContext,
  ): Promise<void> {
    const body = { channel: posted.channel, ts: posted.ts, ...message };
    await this.call("chat.update", posted.channel, body, context);
  }

  /**
   * Calls a Web API method. Slack reports most failures as HTTP 200 with `ok: false` and an
   * `error` code, and rate limits as HTTP 429 with `Retry-After`.
   */
  private async call(
    method: string,
    channel: string,
    body: unknown,
    context: DeliveryContext,
  ): Promise<Record<string, unknown>> {
    const target = `Slack ${method} to ${channel}`;
    let response: AxiosResponse;
    try {
      response = await sendHttp(
        {
          url: `${this.baseUrl.replace(/\/+$/, "")}/${method}`,
          body,
          headers: {
            Authorization: `Bearer ${this.token}`,
            // Slack warns about a JSON body without a charset.
            "Content-Type": "application/json; charset=utf-8",
          },
        },
        context,
      );
    } catch (error) {
      throw withTarget(error, target);
    }

    const data: unknown = response.data;
    if (typeof data !== "object" || data === null || !("ok" in data)) {
      throw new TransientDeliveryError(
        `${target} returned a body that is not a Web API response`,
        { status: response.status, bodyExcerpt: excerptBody(data) },
      );
    }
    const result = data as Record<string, unknown>;
    if (result["ok"] !== true)
      throw apiFailure(target, result, response, context);
    return result;
  }
}

function apiFailure(
  target: string,
  data: Record<string, unknown>,
  response: AxiosResponse,
  context: DeliveryContext,
): Error {
  const code = typeof data["error"] === "string" ? data["error"] : "unknown";
  const details: FailureDetails = {
    status: response.status,
    bodyExcerpt: excerptBody(data),
  };
  const retryAfterMs = parseRetryAfter(
    response.headers["retry-after"],
    context.clock.now(),
  );
  if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;

  const message = `${target} failed: ${code}`;
  return TRANSIENT_API_ERRORS.has(code)
    ? new TransientDeliveryError(message, details)
    : new SlackPermanentError(message, code, details);
}

/**
 * Rewrites a `sendHttp` failure so its message names the Slack target and Slack's error text,
 * keeping its class, details and cause.
 */
function withTarget(error: unknown, target: string): Error {
  if (
    !(error instanceof TransientDeliveryError) &&
    !(error instanceof PermanentDeliveryError)
  ) {
    return error instanceof Error ? error : new Error(String(error));
  }

  const code = slackErrorText(error.details.bodyExcerpt);
  const status =
    error.details.status === undefined ? "" : ` HTTP ${error.details.status}`;
  const message =
    error.details.status === undefined
      ? `${target} failed: ${error.message}`
      : `${target} failed:${status}${code ? ` ${code}` : ""}`;

  if (error instanceof TransientDeliveryError) {
    return new TransientDeliveryError(message, error.details, { cause: error });
  }
  return new SlackPermanentError(message, code ?? "unknown", error.details, {
    cause: error,
  });
}

/** Reads Slack's error code from a response excerpt: webhook plain text or a Web API body. */
function slackErrorText(excerpt: string | undefined): string | undefined {
  if (!excerpt) return undefined;

  try {
    const parsed: unknown = JSON.parse(excerpt);
    if (typeof parsed === "object" && parsed !== null && "error" in parsed) {
      const code = (parsed as { error: unknown }).error;
      if (typeof code === "string") return code;
    }
  } catch {
    // Incoming webhooks return plain text such as `channel_not_found`.
  }
  return excerpt.slice(0, 100);
}
