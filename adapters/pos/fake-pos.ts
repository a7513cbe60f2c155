import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { decodeSecret } from "./signature.ts";

/** A request the fake POS accepted. */
export interface PosRequest {
  headers: IncomingHttpHeaders;
  raw: string;
}

/** Response the fake POS returns to the next verified requests. */
export type PosResponse = {
  kind: "status";
  status: number;
  body?: unknown;
} | null;

/**
 * A POS endpoint on 127.0.0.1 for tests. It verifies Standard Webhooks signatures on the raw
 * body against the secrets it is configured with and rejects a stale timestamp. It responds
 * 409 to a `webhook-id` it has already accepted and records each accepted request.
 */
export class FakePos {
  readonly accepted: PosRequest[] = [];
  readonly rejected: string[] = [];
  private readonly seenIds = new Set<string>();
  private response: PosResponse = null;
  private server: Server | undefined;
  url = "";

  constructor(
    private readonly secrets: string[],
    /** Seconds since the epoch, as the POS's own clock reads. */
    private readonly nowSeconds: () => number = () =>
      Math.floor(Date.now() / 1000),
    private readonly toleranceSeconds = 300,
  ) {}

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const { status, body } = this.handle(
          request.headers,
          Buffer.concat(chunks).toString("utf8"),
        );
        response.writeHead(status, { "Content-Type": "application/json" });
        response.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) =>
      this.server!.listen(0, "127.0.0.1", resolve),
    );
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/orders`;
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  /** Sets the response to every later verified request. Null restores normal handling. */
  respondWith(response: PosResponse): void {
    this.response = response;
  }

  private handle(
    headers: IncomingHttpHeaders,
    raw: string,
  ): { status: number; body: unknown } {
    const problem = this.verify(headers, raw);
    if (problem !== null) {
      this.rejected.push(problem);
      return { status: 401, body: { error: "invalid signature" } };
    }
    if (this.response !== null)
      return { status: this.response.status, body: this.response.body ?? {} };

    const id = headers["webhook-id"] as string;
    if (this.seenIds.has(id))
      return { status: 409, body: { error: "already received" } };
    this.seenIds.add(id);
    this.accepted.push({ headers, raw });
    return { status: 200, body: { ok: true } };
  }

  /** Returns why a request fails verification, or null when one signature matches. */
  private verify(headers: IncomingHttpHeaders, raw: string): string | null {
    const id = headers["webhook-id"];
    const timestamp = headers["webhook-timestamp"];
    const signatures = headers["webhook-signature"];
    if (
      typeof id !== "string" ||
      typeof timestamp !== "string" ||
      typeof signatures !== "string"
    )
      return "missing header";
    if (
      !/^\d+$/.test(timestamp) ||
      Math.abs(this.nowSeconds() - Number(timestamp)) > this.toleranceSeconds
    )
      return "timestamp outside tolerance";

    const content = `${id}.${timestamp}.${raw}`;
    for (const secret of this.secrets) {
      const expected = createHmac("sha256", decodeSecret(secret)!)
        .update(content)
        .digest();
      for (const entry of signatures.split(" ")) {
        const [version, value] = entry.split(",", 2);
        if (version !== "v1" || value === undefined) continue;
        const received = Buffer.from(value, "base64");
        if (
          received.length === expected.length &&
          timingSafeEqual(received, expected)
        )
          return null;
      }
    }
    return "no matching signature";
  }
}
