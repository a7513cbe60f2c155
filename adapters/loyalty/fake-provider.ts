import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the fake provider received. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: Record<string, unknown>;
}

/** Failure the fake returns for the next requests, set by a test. */
export type FakeFailure =
  | { kind: "status"; status: number; count: number }
  | { kind: "apply-then-fail"; status: number; count: number };

/**
 * A loyalty provider on 127.0.0.1 for tests. It speaks both modes: generic `POST /transactions`
 * and Square's `/v2/loyalty/accounts/search`, `/accumulate` and `/adjust`. It records every
 * request, applies each body idempotency key once (a repeated key gets the first response again)
 * and keeps a points balance per customer or account.
 */
export class FakeLoyaltyProvider {
  readonly requests: ReceivedRequest[] = [];
  /** Points by customer (generic: `phone:+1...`) or by Square account id. */
  readonly balances = new Map<string, number>();
  /** Square accounts by phone number. */
  readonly accountsByPhone = new Map<string, string>();
  private readonly applied = new Map<string, unknown>();
  private failure: FakeFailure | null = null;
  private server: Server | undefined;
  url = "";

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const reply = this.respond(
          request.method ?? "",
          request.url ?? "",
          request.headers,
          raw,
        );
        response.writeHead(reply.status, {
          "Content-Type": "application/json",
        });
        response.end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) =>
      this.server!.listen(0, "127.0.0.1", resolve),
    );
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  /** Forgets requests, balances and applied keys, keeping the accounts. */
  reset(): void {
    this.requests.length = 0;
    this.balances.clear();
    this.applied.clear();
    this.failure = null;
  }

  /** Makes the next `count` point requests fail; `apply-then-fail` applies them first, like a lost response. */
  failNext(failure: FakeFailure | null): void {
    this.failure = failure;
  }

  /** Returns the requests that moved points: generic transactions, accumulate and adjust calls. */
  pointRequests(): ReceivedRequest[] {
    return this.requests.filter((request) => !request.path.endsWith("/search"));
  }

  /** Counts the distinct idempotency keys applied. */
  appliedCount(): number {
    return this.applied.size;
  }

  private respond(
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    raw: string,
  ): { status: number; body: unknown } {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return { status: 400, body: { error: "body is not JSON" } };
    }
    this.requests.push({ method, path, headers, raw, body });

    if (path === "/v2/loyalty/accounts/search") return this.search(body);

    const failure = this.failure;
    if (failure && failure.count > 0) {
      failure.count -= 1;
      if (failure.kind === "status")
        return {
          status: failure.status,
          body: { error: "failing on purpose" },
        };
      this.apply(path, body);
      return {
        status: failure.status,
        body: { error: "applied, then failing on purpose" },
      };
    }
    return this.apply(path, body);
  }

  private search(body: Record<string, unknown>): {
    status: number;
    body: unknown;
  } {
    const query = body.query as
      { mappings?: { phone_number?: string }[] } | undefined;
    const phone = query?.mappings?.[0]?.phone_number;
    const id =
      phone === undefined ? undefined : this.accountsByPhone.get(phone);
    return {
      status: 200,
      body:
        id === undefined
          ? {}
          : { loyalty_accounts: [{ id, mapping: { phone_number: phone } }] },
    };
  }

  private apply(
    path: string,
    body: Record<string, unknown>,
  ): { status: number; body: unknown } {
    const key = (body.idempotencyKey ?? body.idempotency_key) as
      string | undefined;
    if (typeof key !== "string" || key === "")
      return { status: 400, body: { error: "missing idempotency key" } };
    const previous = this.applied.get(key);
    if (previous !== undefined) return { status: 200, body: previous };

    const change = this.pointsChange(path, body);
    if (change === null)
      return { status: 404, body: { error: `no route ${path}` } };
    this.balances.set(
      change.holder,
      (this.balances.get(change.holder) ?? 0) + change.points,
    );
    const result = { holder: change.holder, points: change.points };
    this.applied.set(key, result);
    return { status: 200, body: result };
  }

  private pointsChange(
    path: string,
    body: Record<string, unknown>,
  ): { holder: string; points: number } | null {
    if (path === "/transactions") {
      const [kind, value] =
        Object.entries(body.customer as Record<string, string>)[0] ?? [];
      return { holder: `${kind}:${value}`, points: body.points as number };
    }
    const match =
      /^\/v2\/loyalty\/accounts\/([^/]+)\/(accumulate|adjust)$/.exec(path);
    if (!match) return null;
    const holder = decodeURIComponent(match[1]!);
    const points =
      match[2] === "accumulate"
        ? (body.accumulate_points as { points: number }).points
        : (body.adjust_points as { points: number }).points;
    return { holder, points };
  }
}
