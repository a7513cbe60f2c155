import { createHash } from "node:crypto";

import type {
  Adapter,
  AdapterDeps,
  AdapterFactory,
  DeliveryContext,
} from "../../src/delivery/contract.ts";
import { PermanentDeliveryError } from "../../src/delivery/errors.ts";
import type { BridgeEvent, EventType } from "../../src/orders/events.ts";
import type { CanonicalOrder } from "../../src/orders/model.ts";
import { renderEventMessage } from "./alerts.ts";
import {
  channelWants,
  DEFAULT_CHANNEL_EVENTS,
  slackOptionsSchema,
  type SlackChannelOptions,
  type SlackOptions,
} from "./options.ts";
import { ChannelPacer } from "./pacer.ts";
import {
  renderOrderSummary,
  type RenderOptions,
  type SlackMessage,
} from "./render.ts";
import {
  postToWebhook,
  SlackPermanentError,
  SlackWebApi,
  type PostedMessage,
} from "./transport.ts";

export { slackOptionsSchema, type SlackOptions } from "./options.ts";

/**
 * Per-order durable state of the adapter, by channel key. A retry of a delivery that reached
 * some channels skips the events those channels already show.
 */
export interface SlackOrderState {
  channels: Record<string, ChannelRecord>;
}

/** One order's messages in one channel. */
export interface ChannelRecord {
  /** The order's parent message (bot mode), whose thread contains the later alerts. */
  thread?: PostedMessage;
  /** SHA-256 of the parent's last sent body, so an unchanged parent is not updated again. */
  parentDigest?: string;
  /** Ids of the latest events posted here, newest last, at most `SENT_IDS_KEPT`. */
  sentEventIds: string[];
}

/** A configured channel with its key, its label and the alerts it posts. */
interface Channel {
  /** Stable key in the order state: the bot channel, or a digest of the webhook URL. */
  key: string;
  /** Safe to log: never the webhook URL. */
  label: string;
  options: SlackChannelOptions;
  events: readonly string[];
}

/** Event ids remembered per order and channel; far above the events one order produces. */
const SENT_IDS_KEPT = 100;

/**
 * Event types the engine delivers by default: the default alerts, plus every change that
 * alters what a bot-mode parent message shows (status, items, amounts, closing).
 */
const DEFAULT_EVENTS: readonly EventType[] = [
  "order.created",
  "order.status_changed",
  "order.refunded",
  "order.items_changed",
  "order.tip_changed",
  "order.closed",
  "order.reopened",
  "delivery.dead_lettered",
];

/**
 * Posts order alerts to Slack through incoming webhooks, or with a bot token that keeps one
 * thread per order and updates the thread's parent with the order's current status.
 */
export const slackAdapter: AdapterFactory<SlackOptions> = {
  type: "slack",
  optionsSchema: slackOptionsSchema,
  defaultEvents: DEFAULT_EVENTS,
  create(options, deps) {
    return new SlackAdapter(options, deps);
  },
};

class SlackAdapter implements Adapter {
  readonly type = "slack";
  private readonly channels: Channel[];
  private readonly pacer: ChannelPacer;
  private readonly render: RenderOptions;
  private readonly api: SlackWebApi | undefined;

  constructor(
    options: SlackOptions,
    private readonly deps: AdapterDeps,
  ) {
    this.channels = options.channels.map((channel, index) =>
      describeChannel(channel, index),
    );
    this.pacer = new ChannelPacer(options.minIntervalMs);
    this.render = {
      restaurant: deps.restaurant,
      showGuestFirstName: options.showGuestFirstName,
    };
    this.api =
      options.mode === "bot"
        ? new SlackWebApi(options.apiBaseUrl, options.token ?? "")
        : undefined;
  }

  async handle(event: BridgeEvent, context: DeliveryContext): Promise<void> {
    const state = await this.loadState(event.orderId);
    const save = async () => {
      if (event.orderId !== null)
        await this.deps.state.set(event.orderId, state);
    };

    const outcomes = await Promise.allSettled(
      this.channels.map((channel) => {
        const record = (state.channels[channel.key] ??= { sentEventIds: [] });
        return this.api
          ? this.deliverToThread(
              this.api,
              channel,
              record,
              event,
              context,
              save,
            )
          : this.deliverToWebhook(channel, record, event, context, save);
      }),
    );
    throwFirstFailure(outcomes, context);
  }

  private async loadState(orderId: string | null): Promise<SlackOrderState> {
    if (orderId === null) return { channels: {} };
    const stored = await this.deps.state.get<SlackOrderState>(orderId);
    return stored ?? { channels: {} };
  }

  /** Webhook mode: one message per selected event, unless this channel already shows it. */
  private async deliverToWebhook(
    channel: Channel,
    record: ChannelRecord,
    event: BridgeEvent,
    context: DeliveryContext,
    save: () => Promise<void>,
  ): Promise<void> {
    if (!channelWants(channel.events, event)) return;
    if (record.sentEventIds.includes(event.id)) return;

    const message = renderEventMessage(event, this.render, "channel");
    await this.pacer.run(channel.key, context.signal, () =>
      postToWebhook(
        channel.options.webhookUrl!,
        channel.label,
        message,
        context,
      ),
    );
    context.logger.debug(
      { channel: channel.label, eventType: event.type },
      "slack webhook message posted",
    );
    markSent(record, event.id);
    await save();
  }

  /**
   * Bot mode: the first selected event of an order posts the parent message, later ones reply
   * in its thread, and every order event refreshes the parent when what it shows changed.
   */
  private async deliverToThread(
    api: SlackWebApi,
    channel: Channel,
    record: ChannelRecord,
    event: BridgeEvent,
    context: DeliveryContext,
    save: () => Promise<void>,
  ): Promise<void> {
    const selected = channelWants(channel.events, event);
    const order = "order" in event ? event.order : undefined;

    if (!record.thread && selected && order) {
      const parent = renderOrderSummary(order, this.render, "new");
      record.thread = await this.post(api, channel, parent, context);
      record.parentDigest = digest(parent);
      if (event.type === "order.created") markSent(record, event.id);
      await save();
    }

    if (selected && !record.sentEventIds.includes(event.id)) {
      const placement = record.thread ? "thread" : "channel";
      const message = renderEventMessage(event, this.render, placement);
      await this.post(api, channel, message, context, record.thread?.ts);
      markSent(record, event.id);
      await save();
    }

    if (record.thread && order) {
      await this.refreshParent(api, channel, record, order, context);
      await save();
    }
  }

  private async post(
    api: SlackWebApi,
    channel: Channel,
    message: SlackMessage,
    context: DeliveryContext,
    threadTs?: string,
  ): Promise<PostedMessage> {
    const target = channel.options.channel!;
    const posted = await this.pacer.run(channel.key, context.signal, () =>
      api.postMessage(target, message, context, threadTs),
    );
    context.logger.debug(
      { channel: channel.label, threaded: threadTs !== undefined },
      "slack message posted",
    );
    return posted;
  }

  /**
   * Updates the parent message to the order's current state. A parent deleted in Slack is
   * forgotten, so the order's next alert starts a new thread.
   */
  // NOTE: chat.update does not go through the per-channel pacer: Slack's one-message-per-
  // second rule is stated for posting, and pacing updates would double each event's wait.
  private async refreshParent(
    api: SlackWebApi,
    channel: Channel,
    record: ChannelRecord,
    order: CanonicalOrder,
    context: DeliveryContext,
  ): Promise<void> {
    const parent = renderOrderSummary(order, this.render, "new");
    const parentDigest = digest(parent);
    if (!record.thread || parentDigest === record.parentDigest) return;

    try {
      await api.update(record.thread, parent, context);
      record.parentDigest = parentDigest;
    } catch (error) {
      if (
        error instanceof SlackPermanentError &&
        error.slackError === "message_not_found"
      ) {
        context.logger.warn(
          { channel: channel.label },
          "slack parent message not found; the next alert starts a new thread",
        );
        delete record.thread;
        delete record.parentDigest;
        return;
      }
      throw error;
    }
  }
}

function describeChannel(options: SlackChannelOptions, index: number): Channel {
  const events = options.events ?? DEFAULT_CHANNEL_EVENTS;
  if (options.channel !== undefined) {
    return {
      key: `channel:${options.channel}`,
      label: options.name ?? options.channel,
      options,
      events,
    };
  }
  // The webhook URL is a secret, so the key is a digest of it and the label its position.
  const urlDigest = createHash("sha256")
    .update(options.webhookUrl ?? "")
    .digest("hex");
  return {
    key: `webhook:${urlDigest.slice(0, 16)}`,
    label: options.name ?? `channels[${index}]`,
    options,
    events,
  };
}

function markSent(record: ChannelRecord, eventId: string): void {
  record.sentEventIds.push(eventId);
  if (record.sentEventIds.length > SENT_IDS_KEPT) {
    record.sentEventIds.splice(0, record.sentEventIds.length - SENT_IDS_KEPT);
  }
}

function digest(message: SlackMessage): string {
  return createHash("sha256").update(JSON.stringify(message)).digest("hex");
}

/**
 * Rethrows the failure of a multi-channel delivery. A retryable failure wins over a permanent
 * one, so the channels that can still succeed get their retry. Channels already reached skip
 * the event on that retry.
 */
function throwFirstFailure(
  outcomes: PromiseSettledResult<void>[],
  context: DeliveryContext,
): void {
  const failures = outcomes
    .filter(
      (outcome): outcome is PromiseRejectedResult =>
        outcome.status === "rejected",
    )
    .map((outcome) => outcome.reason as unknown);
  if (failures.length === 0) return;

  const retryable = failures.find(
    (failure) => !(failure instanceof PermanentDeliveryError),
  );
  const chosen = retryable ?? failures[0];
  for (const failure of failures) {
    if (failure !== chosen) {
      context.logger.warn(
        { err: failure },
        "slack delivery to another channel also failed",
      );
    }
  }
  throw chosen;
}
