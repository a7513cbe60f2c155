import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";

import {
  PermanentDeliveryError,
  TransientDeliveryError,
} from "../../src/delivery/errors.ts";
import type { JournalEntryEvent } from "../../src/orders/events.ts";
import {
  describeAdapterContract,
  deliveryContext,
} from "../../test/helpers/adapter-contract.ts";
import { accountingAdapter, journalIdempotencyKey } from "./index.ts";

/** Starts a fake accounting endpoint on 127.0.0.1 that records requests and responds with a chosen status. */
async function fakeEndpoint() {
  const requests: { headers: IncomingHttpHeaders; body: string }[] = [];
  let status = 201;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      requests.push({
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      response.writeHead(status, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ status }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/journal-entries`,
    requests,
    answer(next: number) {
      status = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function journalEvent(revision = 1): JournalEntryEvent {
  return {
    id: `evt_export_${revision}`,
    type: "export.journal_entry",
    restaurantId: "demo",
    orderId: null,
    occurredAt: "2021-12-08T11:00:00.000Z",
    detectedAt: "2021-12-08T11:00:00.000Z",
    detectedBusinessDate: "2021-12-08",
    change: {
      businessDate: "2021-12-07",
      revision,
      entry: {
        restaurantId: "demo",
        businessDate: "2021-12-07",
        revision,
        journalNo: `demo-20211207-${revision}`,
        totalDebitCents: 3078,
        totalCreditCents: 3078,
        lines: [],
      },
    },
  };
}

describeAdapterContract({
  factory: accountingAdapter,
  hasPermanentFailures: true,
  event: () => journalEvent(),
  async setup() {
    const endpoint = await fakeEndpoint();
    return {
      options: { url: endpoint.url },
      destination: {
        async received() {
          return endpoint.requests.map((request) => request.body);
        },
        fail(kind) {
          if (kind === "transient") endpoint.answer(503);
          else if (kind === "permanent") endpoint.answer(400);
          else endpoint.answer(201);
        },
        close: endpoint.close,
      },
    };
  },
});

describe("accounting adapter", () => {
  const create = (url: string) =>
    accountingAdapter.create(
      accountingAdapter.optionsSchema.validateSync({
        url,
        headers: { Authorization: "Bearer test-token" },
      }),
      {} as never,
    );

  it("posts the entry with its idempotency key", async () => {
    const endpoint = await fakeEndpoint();
    try {
      const adapter = create(endpoint.url);
      await adapter.handle(journalEvent(2), deliveryContext());
      assert.equal(endpoint.requests.length, 1);
      const request = endpoint.requests[0]!;
      assert.equal(
        request.headers["idempotency-key"],
        "bbot-bridge:demo:2021-12-07:r2",
      );
      assert.equal(request.headers.authorization, "Bearer test-token");
      assert.deepEqual(JSON.parse(request.body), journalEvent(2).change.entry);
    } finally {
      await endpoint.close();
    }
  });

  it("key changes with the revision only", () => {
    assert.equal(
      journalIdempotencyKey(journalEvent(1)),
      journalIdempotencyKey({ ...journalEvent(1), id: "evt_other" }),
    );
    assert.notEqual(
      journalIdempotencyKey(journalEvent(1)),
      journalIdempotencyKey(journalEvent(2)),
    );
  });

  it("counts 409 as delivered", async () => {
    const endpoint = await fakeEndpoint();
    try {
      endpoint.answer(409);
      await create(endpoint.url).handle(journalEvent(), deliveryContext());
    } finally {
      await endpoint.close();
    }
  });

  it("classifies 429 and 422", async () => {
    const endpoint = await fakeEndpoint();
    try {
      const adapter = create(endpoint.url);
      endpoint.answer(429);
      await assert.rejects(
        adapter.handle(journalEvent(), deliveryContext()),
        TransientDeliveryError,
      );
      endpoint.answer(422);
      await assert.rejects(
        adapter.handle(journalEvent(), deliveryContext()),
        PermanentDeliveryError,
      );
    } finally {
      await endpoint.close();
    }
  });

  it("skips order events", async () => {
    const endpoint = await fakeEndpoint();
    try {
      const event = { ...journalEvent(), type: "order.created" } as never;
      await create(endpoint.url).handle(event, deliveryContext());
      assert.equal(endpoint.requests.length, 0);
    } finally {
      await endpoint.close();
    }
  });

  it("rejects a missing url", () => {
    assert.throws(
      () => accountingAdapter.optionsSchema.validateSync({}),
      /url is a required field/,
    );
  });
});
