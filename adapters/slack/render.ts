import type { RestaurantConfig } from "../../src/config/schema.ts";
import type { CanonicalOrder, OrderItem } from "../../src/orders/model.ts";
import {
  clip,
  escapeText,
  formatLocalTime,
  formatMoney,
  humanize,
} from "./format.ts";

/** Limits from Slack's Block Kit reference that every rendered message stays within. */
export const SLACK_LIMITS = {
  blocks: 50,
  headerChars: 150,
  sectionChars: 3000,
  fieldChars: 2000,
  fields: 10,
  contextElements: 10,
  /** Our own cap on the top-level `text` fallback; Slack's cap is far higher. */
  fallbackChars: 3000,
} as const;

/** A Block Kit text object. */
export interface TextObject {
  type: "plain_text" | "mrkdwn";
  text: string;
}

/** The Block Kit blocks this adapter uses. */
export type Block =
  | { type: "header"; text: TextObject }
  | { type: "section"; text?: TextObject; fields?: TextObject[] }
  | { type: "context"; elements: TextObject[] }
  | { type: "divider" };

/** A message body as `chat.postMessage`, `chat.update` and incoming webhooks take it. */
export interface SlackMessage {
  /** Plain fallback shown in notifications and by clients that cannot draw blocks. */
  text: string;
  blocks: Block[];
}

/** Restaurant settings and display choices for rendering. */
export interface RenderOptions {
  restaurant: Pick<
    RestaurantConfig,
    "name" | "currency" | "locale" | "timeZone"
  >;
  /** Shows the guest's first name when the event carries it. */
  showGuestFirstName: boolean;
}

/** Destination of a message: a message of its own, or a reply in an order's thread. */
export type Placement = "channel" | "thread";

/** Identical units of one item, as Bbot sends one row per unit. */
export interface ItemGroup {
  name: string;
  mods: string[];
  specialInstructions: string;
  quantity: number;
  pretaxCents: number;
}

// Raw lengths before escaping: escaping can grow text fivefold (`&` → `&amp;`), so a line of
// these three parts stays under the section limit even in the worst case.
export const MAX_NAME_CHARS = 100;
const MAX_MODS_CHARS = 200;
const MAX_INSTRUCTIONS_CHARS = 200;
export const MAX_REASON_CHARS = 500;

/**
 * Groups an order's units by name, mods and special instructions, in order of first
 * appearance, summing quantities and pretax.
 */
export function groupItems(items: readonly OrderItem[]): ItemGroup[] {
  const groups = new Map<string, ItemGroup>();
  for (const item of items) {
    const mods = item.mods.map((mod) => mod.name);
    const key = JSON.stringify([item.name, mods, item.specialInstructions]);
    const group = groups.get(key);
    if (group) {
      group.quantity += 1;
      group.pretaxCents += item.pretaxCents;
    } else {
      groups.set(key, {
        name: item.name,
        mods,
        specialInstructions: item.specialInstructions,
        quantity: 1,
        pretaxCents: item.pretaxCents,
      });
    }
  }
  return [...groups.values()];
}

/**
 * Renders an order as its parent message: header, status, items, amounts, fulfillment and a
 * context line. `headline` picks the header: a new order, the order's arrival at a stage, or
 * the plain order label.
 */
export function renderOrderSummary(
  order: CanonicalOrder,
  options: RenderOptions,
  headline: "new" | "current" | { stage: string },
): SlackMessage {
  let title: string;
  if (headline === "new") title = orderTitle("New order", order, options);
  else if (headline === "current") title = orderTitle("Order", order, options);
  else {
    const stage = humanize(headline.stage).toLowerCase();
    title = orderTitle("Order", order, options, ` is ${stage}`);
  }

  const blocks: Block[] = [
    header(title),
    section(statusLine(order, options)),
    section(itemsText(groupItems(order.items), options)),
    fieldsSection(amountFields(order, options)),
    fieldsSection(fulfillmentFields(order, options)),
    contextLine(order, options),
  ];
  const total = money(order.totalCents, options);
  const units = order.items.length;
  return finish(
    `${title}: ${units} ${units === 1 ? "item" : "items"}, total ${total}`,
    blocks,
  );
}

/**
 * Builds a title such as "New order #233 · Barge" from the guest-facing number and the table,
 * falling back to the restaurant's name when the order has no table.
 */
export function orderTitle(
  prefix: string,
  order: CanonicalOrder,
  options: RenderOptions,
  suffix = "",
): string {
  const number =
    order.orderNumberToday === null ? "" : ` #${order.orderNumberToday}`;
  const place = order.table?.name ?? options.restaurant.name;
  return `${prefix}${number}${suffix} · ${place}`;
}

function statusLine(order: CanonicalOrder, options: RenderOptions): string {
  let status = humanize(order.stage);
  if (order.closedAt !== null) status += " · closed";
  const parts = [`*Status:* ${escapeText(status)}`];

  const firstName = order.guest?.firstName;
  if (options.showGuestFirstName && firstName) {
    parts.push(`*Guest:* ${escapeText(clip(firstName, 50))}`);
  }
  return parts.join("   ");
}

/**
 * Lists item groups as "2 × Ceviche (Èclairs) — $23.88" lines within the section limit.
 * Groups that do not fit are summed into a last line "…and N more items", N counting units.
 */
export function itemsText(
  groups: readonly ItemGroup[],
  options: RenderOptions,
): string {
  if (groups.length === 0) return "_No items_";

  const lines = groups.map((group) => itemLine(group, options));
  const listed: string[] = [];
  let length = 0;
  // Room for the "and N more items" line, whose N has at most a few digits.
  const budget = SLACK_LIMITS.sectionChars - 40;

  for (const line of lines) {
    const added = line.length + (listed.length > 0 ? 1 : 0);
    if (length + added > budget) break;
    listed.push(line);
    length += added;
  }

  const omitted = groups
    .slice(listed.length)
    .reduce((sum, group) => sum + group.quantity, 0);
  if (omitted > 0) {
    listed.push(`…and ${omitted} more ${omitted === 1 ? "item" : "items"}`);
  }
  return listed.join("\n");
}

function itemLine(group: ItemGroup, options: RenderOptions): string {
  let line = `${group.quantity} × ${escapeText(clip(group.name, MAX_NAME_CHARS))}`;
  if (group.mods.length > 0) {
    line += ` (${escapeText(clip(group.mods.join(", "), MAX_MODS_CHARS))})`;
  }
  line += ` — ${money(group.pretaxCents, options)}`;

  const instructions = group.specialInstructions.trim();
  if (instructions !== "") {
    line += `\n      _${escapeText(clip(instructions, MAX_INSTRUCTIONS_CHARS))}_`;
  }
  return line;
}

function amountFields(
  order: CanonicalOrder,
  options: RenderOptions,
): TextObject[] {
  const fields = [
    field("Subtotal", money(order.pretaxCents, options)),
    field("Tax", money(order.taxCents, options)),
    field("Tip", money(order.tipCents, options)),
  ];
  if (order.feeCents !== 0)
    fields.push(field("Fees", money(order.feeCents, options)));
  if (order.discountCents !== 0) {
    fields.push(field("Discounts", money(-order.discountCents, options)));
  }
  fields.push(field("Total", money(order.totalCents, options)));
  return fields;
}

function fulfillmentFields(
  order: CanonicalOrder,
  options: RenderOptions,
): TextObject[] {
  const wantedTime = order.wantedAt
    ? localTime(order.wantedAt, options)
    : "As soon as possible";
  return [
    field("Fulfillment", escapeText(humanize(order.fulfillmentMethod))),
    field("Wanted", escapeText(wantedTime)),
  ];
}

export function contextLine(
  order: CanonicalOrder,
  options: RenderOptions,
): Block {
  const placed = localTime(order.placedAt, options);
  const text = `${escapeText(options.restaurant.name)} · order ${escapeText(order.orderId)} · placed ${escapeText(placed)}`;
  return { type: "context", elements: [mrkdwn(text)] };
}

export function money(cents: number, options: RenderOptions): string {
  return formatMoney(
    cents,
    options.restaurant.currency,
    options.restaurant.locale,
  );
}

export function localTime(iso: string, options: RenderOptions): string {
  return formatLocalTime(
    iso,
    options.restaurant.locale,
    options.restaurant.timeZone,
  );
}

// NOTE: header text is plain_text, which Slack does not parse for links or mentions, so it is
// clipped but not escaped. How Slack shows a `&` in a table name there was not checked.
export function header(text: string): Block {
  return {
    type: "header",
    text: { type: "plain_text", text: clip(text, SLACK_LIMITS.headerChars) },
  };
}

export function section(text: string): Block {
  return { type: "section", text: mrkdwn(clipSection(text)) };
}

export function fieldsSection(fields: TextObject[]): Block {
  return { type: "section", fields: fields.slice(0, SLACK_LIMITS.fields) };
}

export function field(label: string, value: string): TextObject {
  return mrkdwn(clip(`*${label}*\n${value}`, SLACK_LIMITS.fieldChars));
}

export function mrkdwn(text: string): TextObject {
  return { type: "mrkdwn", text };
}

/** Clips mrkdwn to the section limit, backing off so no `&amp;`-style entity is cut in half. */
export function clipSection(text: string): string {
  if (text.length <= SLACK_LIMITS.sectionChars) return text;

  let clipped = clip(text, SLACK_LIMITS.sectionChars);
  const ampersand = clipped.lastIndexOf("&");
  if (ampersand !== -1 && !clipped.slice(ampersand).includes(";")) {
    clipped = `${clipped.slice(0, ampersand)}…`;
  }
  return clipped;
}

/** Assembles a message: clips and escapes the fallback and keeps at most 50 blocks. */
export function finish(fallback: string, blocks: Block[]): SlackMessage {
  // Clipped before escaping, which can grow text fivefold, so no entity is cut in half.
  const raw = clip(fallback, SLACK_LIMITS.fallbackChars / 5);
  return {
    text: escapeText(raw),
    blocks: blocks.slice(0, SLACK_LIMITS.blocks),
  };
}
