import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";

/** One request a fake destination received, with the status it was given. */
export interface ReceivedRequest {
  method: string;
  path: string;
  /** The `Idempotency-Key` header, or undefined when the request had none. */
  idempotencyKey: string | undefined;
  /** The body parsed as JSON, or the raw text when it is not JSON. */
  body: unknown;
  status: number;
}

/** Builds the response of a fake to a request that arrives outside an outage. */
export type FakeResponder = (request: ReceivedRequest) => {
  status: number;
  body: unknown;
};

/** Largest request body a fake reads, in bytes; the demo's messages are far smaller. */
const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * A stand-in for a third-party HTTP API (Slack, a POS, a loyalty provider, an accounting
 * system) on 127.0.0.1. It records every request and responds 503 while an outage is on, so
 * the demo and tests can watch the service retry and recover.
 */
export class FakeDestination {
  readonly received: ReceivedRequest[] = [];
  private server: Server | undefined;
  private outage = false;
  private baseUrl = "";

  constructor(
    readonly name: string,
    private readonly respond: FakeResponder = () => ({
      status: 200,
      body: { ok: true },
    }),
  ) {}

  /** The base URL, such as `http://127.0.0.1:41234`; set once `start` resolves. */
  get url(): string {
    return this.baseUrl;
  }

  /** Listens on a free port of 127.0.0.1. */
  async start(): Promise<void> {
    const server = createServer((request, response) => {
      void this.handle(request, response);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const address = server.address();
    if (address === null || typeof address === "string") {
      throw new Error(`fake ${this.name} has no TCP address`);
    }
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${address.port}`;
  }

  /** Starts or ends an outage: while it is on, every request gets 503. */
  setOutage(on: boolean): void {
    this.outage = on;
  }

  /** Requests that got a 2xx status. */
  accepted(): ReceivedRequest[] {
    return this.received.filter(
      (request) => request.status >= 200 && request.status < 300,
    );
  }

  /** Requests turned away, by the outage or by the responder. */
  rejected(): ReceivedRequest[] {
    return this.received.filter((request) => request.status >= 300);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
  }

  private async handle(
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    let text: string;
    try {
      text = await readBody(request);
    } catch (error) {
      response.writeHead(413, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ error: (error as Error).message }));
      return;
    }

    const received: ReceivedRequest = {
      method: request.method ?? "GET",
      path: request.url ?? "/",
      idempotencyKey: headerValue(request, "idempotency-key"),
      body: parseBody(text),
      status: 503,
    };
    const answer = this.outage
      ? { status: 503, body: { error: `${this.name} is down for the demo` } }
      : this.respond(received);
    received.status = answer.status;
    this.received.push(received);

    response.writeHead(answer.status, { "Content-Type": "application/json" });
    response.end(JSON.stringify(answer.body));
  }
}

function headerValue(
  request: IncomingMessage,
  name: string,
): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    bytes += buffer.length;
    if (bytes > BODY_LIMIT_BYTES) {
      throw new Error(`body exceeds ${BODY_LIMIT_BYTES} bytes`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
