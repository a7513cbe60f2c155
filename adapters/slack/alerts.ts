import type {
  BridgeEvent,
  DeadLetterEvent,
  OrderEvent,
} from "../../src/orders/events.ts";
import { clip, escapeText, formatLocalTime, humanize } from "./format.ts";
import {
  contextLine,
  clipSection,
  field,
  fieldsSection,
  finish,
  groupItems,
  header,
  itemsText,
  localTime,
  MAX_NAME_CHARS,
  MAX_REASON_CHARS,
  money,
  mrkdwn,
  orderTitle,
  renderOrderSummary,
  section,
  type Block,
  type Placement,
  type RenderOptions,
  type SlackMessage,
} from "./render.ts";

/** Renders the message for one event, or the order summary for an `order.created` event. */
export function renderEventMessage(
  event: BridgeEvent,
  options: RenderOptions,
  placement: Placement,
): SlackMessage {
  if (event.type === "delivery.dead_lettered")
    return renderDeadLetter(event, options);
  if (event.type === "export.journal_entry") {
    const text = `Journal entry for business date ${event.change.businessDate} (revision ${event.change.revision})`;
    return finish(text, [section(escapeText(text))]);
  }
  if (event.type === "order.created")
    return renderOrderSummary(event.order, options, "new");
  if (event.type === "order.refunded")
    return renderRefund(event as OrderEvent<"order.refunded">, options);
  if (event.type === "order.status_changed" && placement === "channel") {
    const { to } = (event as OrderEvent<"order.status_changed">).change;
    return renderOrderSummary(event.order, options, { stage: to });
  }
  return renderChangeNote(event, options, placement);
}

function renderRefund(
  event: OrderEvent<"order.refunded">,
  options: RenderOptions,
): SlackMessage {
  const { order, change } = event;
  const title = orderTitle("Refund on order", order, options);
  const refundedItems =
    change.items.length > 0
      ? `*Refunded items*\n${itemsText(groupItems(change.items), options)}`
      : "*Refunded items*\nNo item was removed; only amounts changed.";

  const fields = [
    field("Refunded subtotal", money(change.pretaxCents, options)),
    field("Refunded tax", money(change.taxCents, options)),
    field("Refunded tip", money(change.tipCents, options)),
  ];
  if (change.feeCents !== 0)
    fields.push(field("Refunded fees", money(change.feeCents, options)));
  fields.push(field("Refunded total", money(change.totalCents, options)));
  fields.push(field("New order total", money(order.totalCents, options)));
  if (change.cumulative.totalCents !== change.totalCents) {
    fields.push(
      field("Refunded so far", money(change.cumulative.totalCents, options)),
    );
  }

  const blocks = [
    header(title),
    section(refundedItems),
    fieldsSection(fields),
    contextLine(order, options),
  ];
  const text = `${title}: ${money(change.totalCents, options)} refunded, new total ${money(order.totalCents, options)}`;
  return finish(text, blocks);
}

function renderDeadLetter(
  event: DeadLetterEvent,
  options: RenderOptions,
): SlackMessage {
  const { change } = event;
  const title = `Delivery failed: ${change.adapter}`;
  // "#233 · Barge", the way staff know the order, when the failed event carried its order.
  const label = [
    change.orderNumberToday === null ? "" : `#${change.orderNumberToday}`,
    change.tableName ?? "",
  ]
    .filter(Boolean)
    .join(" · ");
  const orderText = label
    ? `${label} (${event.orderId ?? "no order id"})`
    : (event.orderId ?? "none");

  const lines = [
    `*Adapter:* ${escapeText(change.adapter)}`,
    `*Event:* ${escapeText(change.eventType)}`,
    `*Order:* ${escapeText(orderText)}`,
    `*Attempts:* ${change.attempts}`,
    `*Reason:* ${escapeText(clip(change.reason, MAX_REASON_CHARS))}`,
  ];

  const when = formatLocalTime(
    event.detectedAt,
    options.restaurant.locale,
    options.restaurant.timeZone,
  );
  const context = `${escapeText(options.restaurant.name)} · delivery ${escapeText(change.deliveryId)} · ${when}`;
  const blocks: Block[] = [
    header(title),
    section(lines.join("\n")),
    { type: "context", elements: [mrkdwn(context)] },
  ];

  const order = event.orderId ? ` of order ${orderText}` : "";
  const text = `Delivery to ${change.adapter} failed for ${change.eventType}${order}: ${clip(change.reason, 200)}`;
  return finish(text, blocks);
}

/** Renders a short note about a change: a thread reply, or a message with a header in a channel. */
function renderChangeNote(
  event: OrderEvent,
  options: RenderOptions,
  placement: Placement,
): SlackMessage {
  const note = describeChange(event, options);
  const title = orderTitle("Order", event.order, options);
  const blocks: Block[] = [];
  if (placement === "channel") blocks.push(header(title));
  blocks.push(section(note.mrkdwn));
  blocks.push(contextLine(event.order, options));
  return finish(`${title}: ${note.plain}`, blocks);
}

/** Describes an order change in mrkdwn and in plain words for the fallback. */
function describeChange(
  event: OrderEvent,
  options: RenderOptions,
): { mrkdwn: string; plain: string } {
  switch (event.type) {
    case "order.status_changed": {
      const { from, to } = (event as OrderEvent<"order.status_changed">).change;
      const plain = `status ${humanize(from)} → ${humanize(to)}`;
      return {
        mrkdwn: `*Status:* ${escapeText(humanize(from))} → *${escapeText(humanize(to))}*`,
        plain,
      };
    }
    case "order.item_status_changed": {
      const { name, from, to } = (
        event as OrderEvent<"order.item_status_changed">
      ).change;
      const plain = `${clip(name, MAX_NAME_CHARS)}: ${humanize(from)} → ${humanize(to)}`;
      return { mrkdwn: escapeText(plain), plain };
    }
    case "order.items_changed": {
      const { added, removed, changed } = (
        event as OrderEvent<"order.items_changed">
      ).change;
      const parts: string[] = [];
      if (added.length > 0)
        parts.push(`*Added*\n${itemsText(groupItems(added), options)}`);
      if (removed.length > 0)
        parts.push(`*Removed*\n${itemsText(groupItems(removed), options)}`);
      if (changed.length > 0) {
        const after = changed.map((pair) => pair.after);
        parts.push(`*Changed*\n${itemsText(groupItems(after), options)}`);
      }
      const plain = `items changed (${added.length} added, ${removed.length} removed, ${changed.length} changed)`;
      return { mrkdwn: clipSection(parts.join("\n")), plain };
    }
    case "order.tip_changed": {
      const { fromCents, toCents } = (event as OrderEvent<"order.tip_changed">)
        .change;
      const plain = `tip changed from ${money(fromCents, options)} to ${money(toCents, options)}`;
      return { mrkdwn: escapeText(plain), plain };
    }
    case "order.closed": {
      const { closedAt } = (event as OrderEvent<"order.closed">).change;
      const plain = `closed at ${localTime(closedAt, options)}`;
      return { mrkdwn: escapeText(plain), plain };
    }
    case "order.reopened":
      return { mrkdwn: "Reopened", plain: "reopened" };
    case "order.updated": {
      // Field names only: the old and new values may be guest data.
      const { fields } = (event as OrderEvent<"order.updated">).change;
      const names = fields.map((change) => change.field).join(", ");
      const plain = `updated ${names}`;
      return { mrkdwn: clipSection(escapeText(plain)), plain };
    }
    default: {
      const plain = event.type;
      return { mrkdwn: escapeText(plain), plain };
    }
  }
}
