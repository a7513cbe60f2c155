import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";

import type { DeliveryContext } from "../../src/delivery/contract.ts";
import { PermanentDeliveryError } from "../../src/delivery/errors.ts";
import type { OrderEvent } from "../../src/orders/events.ts";
import { redactOrder } from "../../src/orders/model.ts";
import { silentLogger } from "../../src/logger.ts";
import {
  describeAdapterContract,
  deliveryContext,
  memoryState,
} from "../../test/helpers/adapter-contract.ts";
import {
  demoRestaurant,
  sampleEvents,
} from "../../test/helpers/sample-events.ts";
import { FakePos } from "./fake-pos.ts";
import { posAdapter, type PosRequestBody } from "./index.ts";

const OLD_SECRET = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
const NEW_SECRET = `whsec_${Buffer.alloc(32, 9).toString("base64")}`;
const OTHER_SECRET = `whsec_${Buffer.alloc(32, 3).toString("base64")}`;

const CEVICHE = "5100d13b-05dc-4908-ae66-c2d9d63e704d";
const ECLAIRS = "bc7ba7fd-55cd-4f03-8bfb-af8bbf63b9bf";
const TABLES = {
  items: { [CEVICHE]: "PLU-100" },
  mods: { [ECLAIRS]: "PLU-900" },
};

// Fixed so `webhook-timestamp` is known: 2023-11-14T22:13:20Z.
const NOW_MS = 1_700_000_000_000;

describeAdapterContract({
  factory: posAdapter,
  hasPermanentFailures: true,
  async setup() {
    const pos = await new FakePos([NEW_SECRET]).start();
    return {
      options: { url: pos.url, secrets: [NEW_SECRET], ...TABLES },
      destination: {
        async received() {
          return pos.accepted.map((request) => request.raw);
        },
        fail(kind) {
          pos.respondWith(
            kind === null
              ? null
              : { kind: "status", status: kind === "transient" ? 503 : 400 },
          );
        },
        close: () => pos.close(),
      },
    };
  },
});

/** Returns an event as the engine hands it to an entry with no personal data. */
function redacted<T extends OrderEvent>(event: T): T {
  return { ...event, order: redactOrder(event.order, []) };
}

function created(): OrderEvent {
  return redacted(sampleEvents("order.created")[0]!);
}

function adapterFor(url: string, options: Record<string, unknown> = {}) {
  const checked = posAdapter.optionsSchema.validateSync({
    url,
    secrets: [NEW_SECRET],
    ...TABLES,
    ...options,
  });
  return posAdapter.create(checked, {
    restaurant: demoRestaurant(),
    entry: { name: "pos", type: "pos", personalData: [] } as never,
    logger: silentLogger(),
    clock: { now: () => NOW_MS },
    dataDir: "/nonexistent",
    state: memoryState(),
  });
}

function context(key = "dlv_pos_1"): DeliveryContext {
  return deliveryContext({
    idempotencyKey: key,
    deliveryId: key,
    clock: { now: () => NOW_MS },
  });
}

describe("pos forwarding", () => {
  let pos: FakePos;
  before(async () => {
    pos = await new FakePos([NEW_SECRET], () => NOW_MS / 1000).start();
  });
  after(() => pos.close());
  beforeEach(() => {
    pos.accepted.length = 0;
    pos.rejected.length = 0;
    pos.respondWith(null);
  });

  it("signs the exact body it sends", async () => {
    await adapterFor(pos.url).handle(created(), context("dlv_signed"));
    assert.equal(pos.accepted.length, 1);
    const { headers, raw } = pos.accepted[0]!;
    assert.equal(headers["webhook-id"], "dlv_signed");
    assert.equal(headers["webhook-timestamp"], "1700000000");
    assert.match(
      headers["webhook-signature"] as string,
      /^v1,[A-Za-z0-9+/]+=*$/,
    );
    assert.equal(headers["idempotency-key"], "dlv_signed");
    assert.equal(JSON.parse(raw).event.id, created().id);
  });

  it("maps items and mods to PLU lines", async () => {
    await adapterFor(pos.url).handle(created(), context("dlv_lines"));
    const body = JSON.parse(pos.accepted[0]!.raw) as PosRequestBody;
    assert.equal(body.action, "create");
    assert.equal(body.lines.length, 2);
    const line = body.lines[0]!;
    assert.equal(line.plu, "PLU-100");
    assert.equal(line.quantity, 1);
    assert.equal(line.pretaxCents, 1194);
    // 1194 cents with the mod, 92 of them for the mod.
    assert.equal(line.unitPriceCents, 1102);
    assert.deepEqual(
      line.mods.map((mod) => [mod.plu, mod.pretaxCents]),
      [["PLU-900", 92]],
    );
    assert.equal(body.event.order.guest, null);
  });

  it("accepts signatures from rotated secrets", async () => {
    const oldOnly = await new FakePos(
      [OLD_SECRET],
      () => NOW_MS / 1000,
    ).start();
    const newOnly = await new FakePos(
      [NEW_SECRET],
      () => NOW_MS / 1000,
    ).start();
    try {
      const rotating = { secrets: [OLD_SECRET, NEW_SECRET] };
      await adapterFor(oldOnly.url, rotating).handle(
        created(),
        context("dlv_rot_1"),
      );
      await adapterFor(newOnly.url, rotating).handle(
        created(),
        context("dlv_rot_2"),
      );
      assert.equal(oldOnly.accepted.length, 1);
      assert.equal(newOnly.accepted.length, 1);
      const signatures = (
        newOnly.accepted[0]!.headers["webhook-signature"] as string
      ).split(" ");
      assert.equal(signatures.length, 2);
    } finally {
      await oldOnly.close();
      await newOnly.close();
    }
  });

  it("fails permanently on an unknown secret", async () => {
    await assert.rejects(
      adapterFor(pos.url, { secrets: [OTHER_SECRET] }).handle(
        created(),
        context("dlv_wrong"),
      ),
      (error: unknown) =>
        error instanceof PermanentDeliveryError && error.details.status === 401,
    );
    assert.deepEqual(pos.rejected, ["no matching signature"]);
  });

  it("fake POS rejects a tampered body", async () => {
    const adapter = adapterFor(pos.url);
    await adapter.handle(created(), context("dlv_original"));
    const { headers, raw } = pos.accepted[0]!;
    const response = await fetch(pos.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "webhook-id": "dlv_tampered",
        "webhook-timestamp": headers["webhook-timestamp"] as string,
        "webhook-signature": headers["webhook-signature"] as string,
      },
      body: raw.replace('"create"', '"cancel"'),
    });
    assert.equal(response.status, 401);
    assert.deepEqual(pos.rejected, ["no matching signature"]);
  });

  it("fake POS rejects a stale timestamp", async () => {
    const later = await new FakePos(
      [NEW_SECRET],
      () => NOW_MS / 1000 + 600,
    ).start();
    try {
      await assert.rejects(
        adapterFor(later.url).handle(created(), context("dlv_stale")),
        PermanentDeliveryError,
      );
      assert.deepEqual(later.rejected, ["timestamp outside tolerance"]);
    } finally {
      await later.close();
    }
  });

  it("fails permanently naming unmapped ids", async () => {
    const adapter = adapterFor(pos.url, { items: {}, mods: {} });
    await assert.rejects(
      adapter.handle(created(), context("dlv_unmapped")),
      (error: unknown) => {
        assert.ok(error instanceof PermanentDeliveryError);
        assert.match(
          error.message,
          new RegExp(
            `menu items ${CEVICHE} \\(Ceviche\\) missing from options.items`,
          ),
        );
        assert.match(
          error.message,
          new RegExp(`mods ${ECLAIRS} \\(Èclairs\\) missing from options.mods`),
        );
        return true;
      },
    );
    assert.equal(
      pos.accepted.length,
      0,
      "an order with unmapped ids reached the POS",
    );
  });

  it("fails on an unmapped mod alone", async () => {
    const adapter = adapterFor(pos.url, { mods: {} });
    await assert.rejects(
      adapter.handle(created(), context("dlv_unmapped_mod")),
      (error: unknown) => {
        assert.ok(error instanceof PermanentDeliveryError);
        assert.ok(!error.message.includes("menu items"));
        assert.match(error.message, new RegExp(ECLAIRS));
        return true;
      },
    );
    assert.equal(pos.accepted.length, 0);
  });

  it("counts 409 as delivered", async () => {
    const adapter = adapterFor(pos.url);
    await adapter.handle(created(), context("dlv_twice"));
    // The fake responds 409 to a webhook-id it has already accepted.
    await adapter.handle(created(), context("dlv_twice"));
    assert.equal(pos.accepted.length, 1);
  });

  it("counts duplicate response as delivered", async () => {
    const adapter = adapterFor(pos.url);
    pos.respondWith({ kind: "status", status: 422, body: { duplicate: true } });
    await adapter.handle(created(), context("dlv_dup_422"));
    pos.respondWith({ kind: "status", status: 200, body: { duplicate: true } });
    await adapter.handle(created(), context("dlv_dup_200"));
  });

  it("fails permanently on 422 without duplicate", async () => {
    pos.respondWith({
      kind: "status",
      status: 422,
      body: { error: "bad line" },
    });
    await assert.rejects(
      adapterFor(pos.url).handle(created(), context("dlv_422")),
      (error: unknown) =>
        error instanceof PermanentDeliveryError && error.details.status === 422,
    );
  });

  it("forwards removed and refunded lines", async () => {
    const adapter = adapterFor(pos.url);
    await adapter.handle(
      redacted(sampleEvents("order.items_changed")[0]!),
      context("dlv_items"),
    );
    await adapter.handle(
      redacted(sampleEvents("order.refunded")[0]!),
      context("dlv_refund"),
    );
    const [items, refund] = pos.accepted.map(
      (request) => JSON.parse(request.raw) as PosRequestBody,
    );
    assert.equal(items!.action, "update_items");
    assert.equal(items!.lines.length, 1);
    assert.equal(items!.removedLines?.[0]?.plu, "PLU-100");
    assert.equal(refund!.action, "refund");
    assert.equal(refund!.refundedLines?.[0]?.pretaxCents, 1194);
    assert.equal(
      (refund!.event.change as { totalCents: number }).totalCents,
      1539,
    );
  });

  it("forwards refunded stage as cancel", async () => {
    const adapter = adapterFor(pos.url);
    const accepted = redacted(sampleEvents("order.status_changed")[0]!);
    await adapter.handle(accepted, context("dlv_stage"));
    await adapter.handle(
      redacted(sampleEvents("order.tip_changed")[0]!),
      context("dlv_tip"),
    );
    assert.equal(pos.accepted.length, 0);

    const cancelled = {
      ...accepted,
      id: "evt_cancel",
      change: { from: "accepted", to: "refunded" },
    };
    await adapter.handle(cancelled, context("dlv_cancel"));
    assert.equal(
      (JSON.parse(pos.accepted[0]!.raw) as PosRequestBody).action,
      "cancel",
    );
  });
});

describe("pos options", () => {
  const parse = (options: unknown) =>
    posAdapter.optionsSchema.validateSync(options);

  it("rejects bad secrets", () => {
    assert.throws(
      () => parse({ url: "http://127.0.0.1:9", secrets: [] }),
      /at least one secret/,
    );
    assert.throws(
      () => parse({ url: "http://127.0.0.1:9", secrets: ["plain"] }),
      /must be whsec_/,
    );
    assert.throws(
      () => parse({ url: "http://127.0.0.1:9", secrets: ["whsec_c2hvcnQ="] }),
      /at least 24 bytes/,
    );
  });

  it("rejects bad tables, URLs and unknown keys", () => {
    const base = { url: "http://127.0.0.1:9", secrets: [NEW_SECRET] };
    assert.throws(
      () => parse({ ...base, items: { [CEVICHE]: 100 } }),
      /non-empty POS code/,
    );
    assert.throws(() => parse({ ...base, mods: [] }), /non-empty POS code/);
    assert.throws(
      () => parse({ ...base, url: "not a url" }),
      /http or https URL/,
    );
    assert.throws(() => parse({ ...base, item: {} }), /unknown key item/);
  });

  it("defaults tables to empty", () => {
    const options = parse({ url: "http://127.0.0.1:9", secrets: [NEW_SECRET] });
    assert.deepEqual(options.items, {});
    assert.deepEqual(options.mods, {});
  });
});
