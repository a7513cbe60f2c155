import * as yup from "yup";

import { EVENT_TYPES, type BridgeEvent } from "../../src/orders/events.ts";

/** Alerts a channel posts when its entry names none. */
export const DEFAULT_CHANNEL_EVENTS = [
  "order.created",
  "order.status_changed:ready",
  "order.refunded",
  "delivery.dead_lettered",
] as const;

const MODES = ["webhook", "bot"] as const;
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
const STAGE_FILTER = /^order\.status_changed:[a-z][a-z0-9_]*$/;
const URL_RULE =
  "must be an https:// URL, or http:// on 127.0.0.1 or localhost for tests";

/** Tells whether a URL is https, or plain http to this machine. */
function isAllowedUrl(value: string | undefined): boolean {
  if (value === undefined) return true;

  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname);
}

/** Tells whether a channel subscription entry is `*`, an event type or a stage filter. */
function isAlertName(value: string | undefined): boolean {
  if (value === undefined) return true;
  if (value === "*") return true;
  if ((EVENT_TYPES as readonly string[]).includes(value)) return true;
  return STAGE_FILTER.test(value);
}

const channelSchema = yup
  .object({
    /** Label for logs and errors, in place of the secret webhook URL. Default `channels[i]` or the channel. */
    name: yup.string().trim().min(1).optional(),
    /** Incoming webhook URL (webhook mode), usually given as an environment variable reference. */
    webhookUrl: yup
      .string()
      .trim()
      .optional()
      // The URL is a secret, so the message leaves the value out.
      .test(
        "url",
        `\${path} ${URL_RULE} (value not shown: it is a secret)`,
        isAllowedUrl,
      ),
    /** Channel id such as `C0123ABCD`, or a name such as `#orders` (bot mode). */
    channel: yup.string().trim().min(1).optional(),
    /**
     * Alerts this channel posts: `*`, event types, or `order.status_changed:<stage>` for one
     * stage. Default: order.created, order.status_changed:ready, order.refunded,
     * delivery.dead_lettered.
     */
    events: yup
      .array(
        yup
          .string()
          .required()
          .test(
            "alert",
            "${path} must be *, an event type (" +
              EVENT_TYPES.join(", ") +
              ") or order.status_changed:<stage> such as order.status_changed:ready; received ${value}",
            isAlertName,
          ),
      )
      .optional(),
  })
  // `exact` rather than `noUnknown`: yup 1.7's noUnknown strips unknown keys while casting,
  // so its own check finds none and a misspelt key passes silently.
  .exact(
    "${path} has unknown key ${properties}; allowed: name, webhookUrl, channel, events",
  );

export const slackOptionsSchema = yup
  .object({
    /** `webhook` posts through incoming webhooks; `bot` posts with a bot token and threads each order. */
    mode: yup
      .string()
      .required("${path} is required; allowed: webhook, bot")
      .oneOf(
        [...MODES],
        "${path} must be one of: webhook, bot; received ${value}",
      ),
    /** Bot token (`xoxb-…`) with the `chat:write` scope; bot mode only. */
    token: yup.string().trim().min(1).optional(),
    /** Base URL of Slack's Web API, without a trailing slash. Default https://slack.com/api. */
    apiBaseUrl: yup
      .string()
      .trim()
      .default("https://slack.com/api")
      .test("url", `\${path} ${URL_RULE}; received \${value}`, isAllowedUrl),
    /** Destinations and the alerts each posts; at least one. */
    channels: yup
      .array(channelSchema.required())
      .required("${path} is required: list at least one channel")
      .min(1, "${path} must list at least one channel"),
    /** Minimum spacing between two messages to one channel, in milliseconds. Default 1,000. */
    minIntervalMs: yup.number().integer().min(0).max(60_000).default(1_000),
    /**
     * Shows the guest's first name in order messages. Default false. The adapter entry's
     * `personalData` must also list `firstName`, or the engine removes it before delivery.
     */
    showGuestFirstName: yup.boolean().default(false),
  })
  .exact(
    "unknown key ${properties}; allowed: mode, token, apiBaseUrl, channels, minIntervalMs, showGuestFirstName",
  )
  .test("mode-fields", "", function checkModeFields(value):
    boolean | yup.ValidationError {
    if (!value || !Array.isArray(value.channels)) return true;
    return checkChannelsForMode(value, (path, message) =>
      this.createError({ path, message }),
    );
  });

export type SlackOptions = yup.InferType<typeof slackOptionsSchema>;
export type SlackChannelOptions = yup.InferType<typeof channelSchema>;

/** Checks what each mode requires: a token and channel names for bot, URLs for webhook. */
function checkChannelsForMode(
  value: {
    mode: string;
    token?: string | undefined;
    channels: yup.InferType<typeof channelSchema>[];
  },
  fail: (path: string, message: string) => yup.ValidationError,
): true | yup.ValidationError {
  if (value.mode === "bot" && !value.token) {
    return fail(
      "token",
      "token is required when mode is bot: set it to a bot token (xoxb-…) with the chat:write scope",
    );
  }

  for (const [index, channel] of value.channels.entries()) {
    const path = `channels[${index}]`;
    if (value.mode === "webhook" && !channel.webhookUrl) {
      return fail(
        `${path}.webhookUrl`,
        `${path}.webhookUrl is required when mode is webhook`,
      );
    }
    if (value.mode === "webhook" && channel.channel) {
      return fail(
        `${path}.channel`,
        `${path}.channel applies to bot mode only; an incoming webhook posts to the channel it was created for`,
      );
    }
    if (value.mode === "bot" && !channel.channel) {
      return fail(
        `${path}.channel`,
        `${path}.channel is required when mode is bot: a channel id such as C0123ABCD or a name such as #orders`,
      );
    }
    if (value.mode === "bot" && channel.webhookUrl) {
      return fail(
        `${path}.webhookUrl`,
        `${path}.webhookUrl applies to webhook mode only`,
      );
    }
  }
  return true;
}

/** Tells whether a channel's subscription list selects an event. */
export function channelWants(
  subscription: readonly string[],
  event: BridgeEvent,
): boolean {
  for (const entry of subscription) {
    if (entry === "*" || entry === event.type) return true;

    const [type, stage] = entry.split(":");
    if (
      stage !== undefined &&
      type === "order.status_changed" &&
      event.type === "order.status_changed" &&
      (event.change as { to: string }).to === stage
    ) {
      return true;
    }
  }
  return false;
}
