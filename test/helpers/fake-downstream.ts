import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { Socket } from "node:net";

/** One request the fake downstream received. */
export interface ReceivedRequest {
  eventId: string;
  type: string;
  orderId: string | null;
  sequence: number;
  idempotencyKey: string | undefined;
  authorization: string | undefined;
  /** Raw body text, for checks that look for values that must not be sent. */
  body: string;
  /** The response status sent, or undefined while the request is held or after it was cut. */
  answered?: number;
}

/** The fake downstream's response to one request. */
export type Reply =
  | { status: number; headers?: Record<string, string>; body?: string }
  /** Keeps the request open until `release()` or `close()`. */
  | "hold";

/**
 * A downstream HTTP server on 127.0.0.1 under test control: records every request, responds
 * through `reply`, counts requests in flight (overall and per order) and can go away and come
 * back on the same port to simulate an outage.
 */
export class FakeDownstream {
  readonly received: ReceivedRequest[] = [];
  /** Decides each response. The default accepts everything. */
  reply: (request: ReceivedRequest) => Reply = () => ({ status: 200 });
  maxInFlight = 0;
  /** The highest number of requests of one order in flight at the same time. */
  maxInFlightPerOrder = 0;
  private inFlight = 0;
  private readonly inFlightByOrder = new Map<string, number>();
  private readonly heldResponses: [ReceivedRequest, ServerResponse][] = [];
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private port = 0;

  /** Starts listening; on the given port when reopening after `close()`. */
  async listen(port = this.port): Promise<void> {
    const server = createServer((request, response) => {
      void this.handle(request, response);
    });
    server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    if (typeof address === "object" && address) this.port = address.port;
    this.server = server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/events`;
  }

  get heldCount(): number {
    return this.heldResponses.length;
  }

  /** Responds 200 to every held request. */
  release(): void {
    for (const [request, response] of this.heldResponses.splice(0)) {
      request.answered = 200;
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end('{"ok":true}');
    }
  }

  /** Stops listening and cuts every open connection, held requests included. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.heldResponses.splice(0);
    for (const socket of this.sockets) socket.destroy();
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Requests that got a 2xx response, in arrival order. */
  accepted(): ReceivedRequest[] {
    return this.received.filter(
      (request) =>
        request.answered !== undefined &&
        request.answered >= 200 &&
        request.answered < 300,
    );
  }

  private async handle(
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const event = JSON.parse(body) as {
      id: string;
      type: string;
      orderId: string | null;
      sequence?: number;
    };
    const received: ReceivedRequest = {
      eventId: event.id,
      type: event.type,
      orderId: event.orderId,
      sequence: event.sequence ?? 0,
      idempotencyKey: request.headers["idempotency-key"] as string | undefined,
      authorization: request.headers.authorization,
      body,
    };
    this.received.push(received);

    const orderKey = event.orderId ?? event.id;
    this.enter(orderKey);
    response.on("close", () => this.leave(orderKey));

    const reply = this.reply(received);
    if (reply === "hold") {
      this.heldResponses.push([received, response]);
      return;
    }
    received.answered = reply.status;
    response.writeHead(reply.status, {
      "Content-Type": "application/json",
      ...reply.headers,
    });
    response.end(reply.body ?? "{}");
  }

  private enter(orderKey: string): void {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const count = (this.inFlightByOrder.get(orderKey) ?? 0) + 1;
    this.inFlightByOrder.set(orderKey, count);
    this.maxInFlightPerOrder = Math.max(this.maxInFlightPerOrder, count);
  }

  private leave(orderKey: string): void {
    this.inFlight -= 1;
    const count = (this.inFlightByOrder.get(orderKey) ?? 1) - 1;
    if (count === 0) this.inFlightByOrder.delete(orderKey);
    else this.inFlightByOrder.set(orderKey, count);
  }
}
