import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { OrderEvent } from "../../src/orders/events.ts";
import type { CanonicalOrder, OrderItem } from "../../src/orders/model.ts";
import { SAMPLE_PERSONAL_VALUES } from "../../test/helpers/adapter-contract.ts";
import {
  demoRestaurant,
  sampleEvents,
} from "../../test/helpers/sample-events.ts";
import { blockKitProblems } from "./fake-slack.ts";
import { clip, escapeText, formatMoney } from "./format.ts";
import { renderEventMessage } from "./alerts.ts";
import {
  groupItems,
  renderOrderSummary,
  SLACK_LIMITS,
  type Block,
  type RenderOptions,
  type SlackMessage,
} from "./render.ts";

const usd: RenderOptions = {
  restaurant: demoRestaurant(),
  showGuestFirstName: false,
};

function createdOrder(): CanonicalOrder {
  return sampleEvents("order.created")[0]!.order;
}

/** Collects every text of a message: the fallback, then each block's texts in order. */
function textsOf(message: SlackMessage): string[] {
  return [message.text, ...message.blocks.flatMap(blockTexts)];
}

function blockTexts(block: Block): string[] {
  if (block.type === "header") return [block.text.text];
  if (block.type === "context")
    return block.elements.map((element) => element.text);
  if (block.type === "section") {
    const texts = block.text ? [block.text.text] : [];
    return [...texts, ...(block.fields ?? []).map((field) => field.text)];
  }
  return [];
}

function headerOf(message: SlackMessage): string | undefined {
  const header = message.blocks.find((block) => block.type === "header");
  return header?.type === "header" ? header.text.text : undefined;
}

function withItems(order: CanonicalOrder, items: OrderItem[]): CanonicalOrder {
  return { ...order, items };
}

describe("formatMoney", () => {
  it("formats en-US dollars from cents", () => {
    assert.equal(formatMoney(3078, "USD", "en-US"), "$30.78");
    assert.equal(formatMoney(5, "USD", "en-US"), "$0.05");
    assert.equal(formatMoney(0, "USD", "en-US"), "$0.00");
    assert.equal(formatMoney(123_456_789, "USD", "en-US"), "$1,234,567.89");
    assert.equal(formatMoney(-1539, "USD", "en-US"), "-$15.39");
  });

  it("formats de-DE euros", () => {
    assert.equal(formatMoney(3078, "EUR", "de-DE"), "30,78\u00a0€");
    assert.equal(formatMoney(123_456, "EUR", "de-DE"), "1.234,56\u00a0€");
    assert.equal(formatMoney(-7, "EUR", "de-DE"), "-0,07\u00a0€");
  });

  it("uses no minor digits for yen", () => {
    assert.equal(formatMoney(3078, "JPY", "en-US"), "¥3,078");
  });

  it("rejects fractional cents", () => {
    assert.throws(() => formatMoney(30.5, "USD", "en-US"), RangeError);
  });
});

describe("text helpers", () => {
  it("escapes mrkdwn control characters only", () => {
    assert.equal(
      escapeText("Fish & <Chips> Èclairs 🍤"),
      "Fish &amp; &lt;Chips&gt; Èclairs 🍤",
    );
  });

  it("clips without splitting an emoji", () => {
    assert.equal(clip("abcdef", 4), "abc…");
    assert.equal(clip("ab🍤cd", 4), "ab…");
    assert.equal(clip("short", 10), "short");
  });
});

describe("order summary", () => {
  it("groups identical units with quantities", () => {
    const groups = groupItems(createdOrder().items);

    assert.equal(groups.length, 1);
    assert.equal(groups[0]!.quantity, 2);
    assert.deepEqual(groups[0]!.mods, ["Èclairs"]);
    assert.equal(groups[0]!.pretaxCents, 2388);
  });

  it("keeps units with other mods apart", () => {
    const order = createdOrder();
    const plain = { ...order.items[0]!, itemId: "plain", mods: [] };

    const groups = groupItems([...order.items, plain]);

    assert.deepEqual(
      groups.map((group) => group.quantity),
      [2, 1],
    );
  });

  it("shows header, items, amounts and context", () => {
    const message = renderOrderSummary(createdOrder(), usd, "new");
    const texts = textsOf(message).join("\n");

    assert.equal(headerOf(message), "New order #233 · Barge");
    assert.match(texts, /2 × Ceviche \(Èclairs\) — \$23\.88/);
    assert.match(texts, /\*Subtotal\*\n\$23\.88/);
    assert.match(texts, /\*Tax\*\n\$2\.12/);
    assert.match(texts, /\*Tip\*\n\$4\.78/);
    assert.match(texts, /\*Total\*\n\$30\.78/);
    assert.match(texts, /\*Fulfillment\*\nRunner with cc/);
    assert.match(texts, /\*Wanted\*\nAs soon as possible/);
    assert.match(texts, /order bc960165-aa17-4506-abdc-0b1c26e44ff9/);
    // 00:53 UTC on 8 December is 19:53 the day before in New York.
    assert.match(texts, /placed Dec 7, 2021, 7:53\sPM/);
    assert.match(
      message.text,
      /New order #233 · Barge: 2 items, total \$30\.78/,
    );
    assert.deepEqual(blockKitProblems({ ...message }), []);
  });

  it("formats amounts in the restaurant's currency and locale", () => {
    const euro: RenderOptions = {
      restaurant: demoRestaurant({ currency: "EUR", locale: "de-DE" }),
      showGuestFirstName: false,
    };

    const texts = textsOf(renderOrderSummary(createdOrder(), euro, "new"));

    assert.ok(texts.some((text) => text.includes("*Total*\n30,78\u00a0€")));
    assert.ok(texts.some((text) => text.includes("— 23,88\u00a0€")));
  });

  it("escapes item names and instructions but keeps unicode", () => {
    const order = createdOrder();
    const item = {
      ...order.items[0]!,
      name: "Fish & <Chips>",
      specialInstructions: "no <b>onions</b> & salt",
    };

    const message = renderOrderSummary(withItems(order, [item]), usd, "new");
    const texts = textsOf(message).join("\n");

    assert.match(texts, /1 × Fish &amp; &lt;Chips&gt; \(Èclairs\)/);
    assert.match(texts, /no &lt;b&gt;onions&lt;\/b&gt; &amp; salt/);
    assert.ok(!texts.includes("<Chips>"));
    assert.ok(!texts.includes("<b>"));
  });

  it("truncates a 120-item order within Slack's limits", () => {
    const order = createdOrder();
    const items = Array.from({ length: 120 }, (_unused, index) => ({
      ...order.items[0]!,
      itemId: `item-${index}`,
      name: `Dish ${index} ${"with a long menu description ".repeat(2)}`,
    }));
    const long = {
      ...withItems(order, items),
      table: { id: null, shortId: null, name: "T".repeat(200) },
    };

    const message = renderOrderSummary(long, usd, "new");
    const itemsSection = message.blocks[2];

    assert.equal(blockKitProblems({ ...message }).length, 0);
    assert.ok(message.blocks.length <= SLACK_LIMITS.blocks);
    assert.ok(headerOf(message)!.length <= SLACK_LIMITS.headerChars);
    assert.ok(itemsSection?.type === "section");
    assert.ok(itemsSection.text);
    const text = itemsSection.text.text;
    assert.ok(text.length <= SLACK_LIMITS.sectionChars);
    const listed = text.split("\n").filter((line) => / × Dish /.test(line));
    const more = /…and (\d+) more items$/.exec(text);
    assert.ok(more, "the items section ends with 'and N more items'");
    assert.equal(listed.length + Number(more[1]), 120);
  });

  it("omits personal data unless the first name is asked for", () => {
    const order = createdOrder();
    assert.equal(order.guest?.firstName, "Sam");

    const hidden = JSON.stringify(renderOrderSummary(order, usd, "new"));
    const shown = JSON.stringify(
      renderOrderSummary(order, { ...usd, showGuestFirstName: true }, "new"),
    );

    for (const value of SAMPLE_PERSONAL_VALUES) {
      assert.ok(!hidden.includes(value), `message contains ${value}`);
      assert.ok(!shown.includes(value), `message contains ${value}`);
    }
    assert.ok(!hidden.includes("Sam"));
    assert.ok(shown.includes("*Guest:* Sam"));
  });
});

describe("alerts", () => {
  it("refund shows refunded items and new total", () => {
    const refund = sampleEvents("order.refunded")[0]!;

    const message = renderEventMessage(refund, usd, "channel");
    const texts = textsOf(message).join("\n");

    assert.equal(headerOf(message), "Refund on order #233 · Barge");
    assert.match(texts, /1 × Ceviche \(Èclairs\) — \$11\.94/);
    assert.match(texts, /\*Refunded total\*\n\$15\.39/);
    assert.match(texts, /\*New order total\*\n\$15\.39/);
    assert.match(message.text, /\$15\.39 refunded, new total \$15\.39/);
  });

  it("ready in a channel repeats the order", () => {
    const ready = sampleEvents("order.status_changed").find(
      (event) => event.change.to === "ready",
    )!;

    const message = renderEventMessage(ready, usd, "channel");

    assert.equal(headerOf(message), "Order #233 is ready · Barge");
    assert.match(textsOf(message).join("\n"), /2 × Ceviche/);
  });

  it("ready in a thread is a short note", () => {
    const ready = sampleEvents("order.status_changed").find(
      (event) => event.change.to === "ready",
    )!;

    const message = renderEventMessage(ready, usd, "thread");

    assert.equal(headerOf(message), undefined);
    assert.match(textsOf(message).join("\n"), /Accepted → \*Ready\*/);
  });

  it("dead letter names adapter, event, order and reason", () => {
    const event = {
      id: "evt_dead",
      type: "delivery.dead_lettered",
      restaurantId: "demo",
      orderId: "bc960165-aa17-4506-abdc-0b1c26e44ff9",
      occurredAt: "2021-12-08T01:00:00Z",
      detectedAt: "2021-12-08T01:00:00Z",
      detectedBusinessDate: "2021-12-07",
      change: {
        deliveryId: "dlv_1",
        adapter: "pos",
        eventId: "evt_1",
        eventType: "order.created",
        attempts: 16,
        reason: "POS answered HTTP 400 <bad table>",
        orderNumberToday: 233,
        tableName: "Barge",
      },
    } as const;

    const message = renderEventMessage(event, usd, "channel");
    const texts = textsOf(message).join("\n");

    assert.equal(headerOf(message), "Delivery failed: pos");
    assert.match(texts, /\*Adapter:\* pos/);
    assert.match(texts, /\*Event:\* order\.created/);
    assert.match(
      texts,
      /\*Order:\* #233 · Barge \(bc960165-aa17-4506-abdc-0b1c26e44ff9\)/,
    );
    assert.match(texts, /\*Attempts:\* 16/);
    assert.match(texts, /\*Reason:\* POS answered HTTP 400 &lt;bad table&gt;/);
    assert.deepEqual(blockKitProblems({ ...message }), []);
  });

  it("every sample event renders within the limits", () => {
    const events = [
      ...sampleEvents("order.created"),
      ...sampleEvents("order.item_status_changed"),
      ...sampleEvents("order.status_changed"),
      ...sampleEvents("order.items_changed"),
      ...sampleEvents("order.refunded"),
      ...sampleEvents("order.tip_changed"),
      ...sampleEvents("order.closed"),
    ] as OrderEvent[];

    for (const event of events) {
      for (const placement of ["channel", "thread"] as const) {
        const message = renderEventMessage(event, usd, placement);
        assert.deepEqual(
          blockKitProblems({ ...message }),
          [],
          `${event.type} in ${placement}`,
        );
      }
    }
  });
});
