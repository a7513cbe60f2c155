import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";

/** A request the fake received, with when it arrived on the monotonic clock. */
export interface FakeSlackRequest {
  kind: "webhook" | "postMessage" | "update";
  /** The webhook's name, or the `channel` field of a Web API call. */
  channel: string;
  body: Record<string, unknown>;
  rawBody: string;
  headers: IncomingHttpHeaders;
  arrivedAt: number;
}

/** A scripted response that replaces the fake's normal one. */
export interface FakeSlackFailure {
  status: number;
  /** Plain text for webhooks (`channel_not_found`), an object for the Web API. */
  body: string | Record<string, unknown>;
  headers?: Record<string, string>;
}

/** A message the fake holds, as `chat.update` last left it. */
export interface FakeSlackMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  body: Record<string, unknown>;
}

/**
 * A stand-in for Slack on 127.0.0.1: incoming webhooks at `/services/<name>` and the Web API's
 * `chat.postMessage` and `chat.update` at `/api/`. It rejects bodies that break Block Kit
 * limits (and lists each problem in `violations`) and records arrival times per channel so
 * tests can check the spacing between messages.
 */
export class FakeSlack {
  readonly requests: FakeSlackRequest[] = [];
  readonly violations: string[] = [];
  readonly messages = new Map<string, FakeSlackMessage>();
  private readonly scripted: {
    failure: FakeSlackFailure;
    kind: FakeSlackRequest["kind"] | undefined;
  }[] = [];
  private always: FakeSlackFailure | null = null;
  private sequence = 0;

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  /** Starts the fake on a free port of 127.0.0.1. `token` is the bot token it accepts. */
  static async start(token = "xoxb-test-token"): Promise<FakeSlack> {
    const started: { fake?: FakeSlack } = {};
    const server = createServer((request, response) => {
      void started.fake!.route(request, response);
    });
    await new Promise<void>((resolve) =>
      server.listen(0, "127.0.0.1", resolve),
    );
    const { port } = server.address() as AddressInfo;
    started.fake = new FakeSlack(server, `http://127.0.0.1:${port}`, token);
    return started.fake;
  }

  /** Returns the URL of the incoming webhook named `name`. */
  webhookUrl(name: string): string {
    return `${this.baseUrl}/services/${name}`;
  }

  get apiBaseUrl(): string {
    return `${this.baseUrl}/api`;
  }

  /** Makes the next `count` requests (of `kind` only, when given) fail with `failure`. */
  failNext(
    failure: FakeSlackFailure,
    count = 1,
    kind?: FakeSlackRequest["kind"],
  ): void {
    for (let index = 0; index < count; index += 1)
      this.scripted.push({ failure, kind });
  }

  /** Makes every request fail with `failure` until called with null. */
  failAlways(failure: FakeSlackFailure | null): void {
    this.always = failure;
  }

  /** Posted messages (webhook posts and `chat.postMessage`) to one channel, in arrival order. */
  posts(channel: string): FakeSlackRequest[] {
    return this.requests.filter(
      (request) => request.kind !== "update" && request.channel === channel,
    );
  }

  /** Returns the smallest time between two consecutive posts to one channel, in milliseconds. */
  minGapMs(channel: string): number {
    const times = this.posts(channel).map((request) => request.arrivedAt);
    let smallest = Number.POSITIVE_INFINITY;
    for (let index = 1; index < times.length; index += 1) {
      smallest = Math.min(smallest, times[index]! - times[index - 1]!);
    }
    return smallest;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async route(
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const rawBody = await readBody(request);
    const path = new URL(request.url ?? "/", this.baseUrl).pathname;
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(rawBody) as Record<string, unknown>;
    } catch {
      this.violations.push(`${path}: body is not JSON`);
    }

    const kind = kindOf(path);
    if (request.method !== "POST" || kind === undefined) {
      reply(response, 404, "not_found");
      return;
    }
    const channel =
      kind === "webhook"
        ? path.slice("/services/".length)
        : String(body["channel"]);
    this.requests.push({
      kind,
      channel,
      body,
      rawBody,
      headers: request.headers,
      arrivedAt: performance.now(),
    });

    const failure = this.takeFailure(kind) ?? this.always;
    if (failure) {
      reply(response, failure.status, failure.body, failure.headers);
      return;
    }

    const problems = blockKitProblems(body);
    this.violations.push(...problems.map((problem) => `${path}: ${problem}`));
    if (kind === "webhook") {
      if (problems.length > 0) reply(response, 400, "invalid_payload");
      else reply(response, 200, "ok");
      return;
    }
    this.answerApi(kind, request.headers, body, problems, response);
  }

  private takeFailure(
    kind: FakeSlackRequest["kind"],
  ): FakeSlackFailure | undefined {
    const index = this.scripted.findIndex(
      (entry) => entry.kind === undefined || entry.kind === kind,
    );
    if (index === -1) return undefined;
    return this.scripted.splice(index, 1)[0]!.failure;
  }

  private answerApi(
    kind: "postMessage" | "update",
    headers: IncomingHttpHeaders,
    body: Record<string, unknown>,
    problems: string[],
    response: ServerResponse,
  ): void {
    if (headers.authorization !== `Bearer ${this.token}`) {
      reply(response, 200, { ok: false, error: "invalid_auth" });
      return;
    }
    if (problems.length > 0) {
      reply(response, 200, { ok: false, error: "invalid_blocks" });
      return;
    }
    if (kind === "postMessage") {
      reply(response, 200, this.post(body));
      return;
    }

    const stored = this.messages.get(String(body["ts"]));
    if (!stored || stored.channel !== body["channel"]) {
      reply(response, 200, { ok: false, error: "message_not_found" });
      return;
    }
    stored.body = body;
    reply(response, 200, { ok: true, channel: stored.channel, ts: stored.ts });
  }

  private post(body: Record<string, unknown>): Record<string, unknown> {
    const threadTs = body["thread_ts"];
    if (threadTs !== undefined && !this.messages.has(String(threadTs))) {
      return { ok: false, error: "thread_not_found" };
    }

    this.sequence += 1;
    const ts = `1700000000.${String(this.sequence).padStart(6, "0")}`;
    const channel = channelId(String(body["channel"]));
    const message: FakeSlackMessage = { channel, ts, body };
    if (typeof threadTs === "string") message.threadTs = threadTs;
    this.messages.set(ts, message);
    return { ok: true, channel, ts };
  }
}

/** Slack turns a channel name into its id; the fake derives one: `#orders` → `CORDERS`. */
export function channelId(channel: string): string {
  if (/^C[A-Z0-9]+$/.test(channel)) return channel;
  return `C${channel.replace(/[^a-z0-9]/gi, "").toUpperCase()}`;
}

/** Lists how a message body breaks the Block Kit limits the adapter promises to keep. */
export function blockKitProblems(body: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (typeof body["text"] !== "string" || body["text"].trim() === "") {
    problems.push("text fallback is missing");
  }
  const blocks = body["blocks"];
  if (!Array.isArray(blocks)) {
    problems.push("blocks is not an array");
    return problems;
  }
  if (blocks.length > 50) problems.push(`${blocks.length} blocks, over 50`);

  for (const [index, block] of (blocks as Record<string, any>[]).entries()) {
    problems.push(...blockProblems(block, index));
  }
  if (/NaN|undefined|\[object Object\]/.test(JSON.stringify(body))) {
    problems.push("body contains NaN, undefined or [object Object]");
  }
  return problems;
}

function blockProblems(block: Record<string, any>, index: number): string[] {
  const problems: string[] = [];
  const where = `block ${index} (${block["type"]})`;
  if (block["type"] === "header") {
    if (block["text"]?.type !== "plain_text")
      problems.push(`${where} text is not plain_text`);
    if (String(block["text"]?.text ?? "").length > 150)
      problems.push(`${where} text over 150 characters`);
  } else if (block["type"] === "section") {
    const text = block["text"]?.text;
    const fields = block["fields"] as { text: string }[] | undefined;
    if (text === undefined && fields === undefined)
      problems.push(`${where} has neither text nor fields`);
    if (typeof text === "string" && text.length > 3000)
      problems.push(`${where} text over 3000 characters (${text.length})`);
    if (typeof text === "string" && text.length === 0)
      problems.push(`${where} text is empty`);
    if (fields && fields.length > 10) problems.push(`${where} over 10 fields`);
    for (const field of fields ?? []) {
      if (field.text.length > 2000)
        problems.push(`${where} field over 2000 characters`);
    }
  } else if (block["type"] === "context") {
    if (!Array.isArray(block["elements"]) || block["elements"].length > 10)
      problems.push(`${where} needs 1 to 10 elements`);
  } else if (block["type"] !== "divider") {
    problems.push(`${where} is not a type the adapter uses`);
  }
  return problems;
}

function kindOf(path: string): FakeSlackRequest["kind"] | undefined {
  if (path.startsWith("/services/")) return "webhook";
  if (path === "/api/chat.postMessage") return "postMessage";
  if (path === "/api/chat.update") return "update";
  return undefined;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function reply(
  response: ServerResponse,
  status: number,
  body: string | Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  const json = typeof body !== "string";
  response.writeHead(status, {
    "Content-Type": json ? "application/json" : "text/plain",
    ...headers,
  });
  response.end(json ? JSON.stringify(body) : body);
}
