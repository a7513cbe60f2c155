import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { lifecycleSnapshots } from "./helpers/sample-events.ts";
import { DEMO_AUTH, demoConfig, waitFor } from "./helpers/service.ts";

const RUN = fileURLToPath(new URL("../src/cli/run.ts", import.meta.url));

/** A `bbot-bridge serve` child process and the JSON log lines it printed. */
interface Child {
  process: ChildProcess;
  lines: Record<string, unknown>[];
  exit: Promise<number | null>;
  url: string;
}

async function startChild(configFile: string, dataDir: string): Promise<Child> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", RUN, "serve", "--config", configFile],
    {
      env: { ...process.env, PORT: "0", BBOT_BRIDGE_DATA_DIR: dataDir },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const lines: Record<string, unknown>[] = [];
  let pending = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    const parts = pending.split("\n");
    pending = parts.pop()!;
    for (const part of parts)
      if (part.startsWith("{")) lines.push(JSON.parse(part));
  });
  child.stderr!.resume();
  const exit = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );

  const listening = await waitFor(
    () => lines.find((line) => line.msg === "bbot-bridge listening"),
    20_000,
    "the child's listening line",
  );
  return { process: child, lines, exit, url: String(listening.url) };
}

/** Sends a webhook's headers and the first half of its body, and returns the raw socket. */
function startSlowWebhook(url: string, body: string) {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let response = "";
  socket.on("data", (chunk) => (response += chunk.toString("utf8")));
  const closed = new Promise<string>((resolve) =>
    socket.once("close", () => resolve(response)),
  );
  const bytes = Buffer.from(body, "utf8");
  const half = Math.floor(bytes.length / 2);
  socket.write(
    `POST /webhooks/bbot HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
      `Authorization: ${DEMO_AUTH}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${bytes.length}\r\n\r\n`,
  );
  socket.write(bytes.subarray(0, half));
  return {
    finish: () => socket.write(bytes.subarray(half)),
    closed,
  };
}

describe("graceful shutdown of bbot-bridge serve", () => {
  let dir: string;
  let configFile: string;
  const children: Child[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bbot-ops-shutdown-"));
    configFile = join(dir, "config.json");
    await writeFile(
      configFile,
      JSON.stringify(demoConfig({ top: { logging: { level: "trace" } } })),
    );
  });

  after(async () => {
    for (const child of children) {
      if (child.process.exitCode === null && child.process.pid)
        process.kill(child.process.pid, "SIGKILL");
    }
    await rm(dir, { recursive: true, force: true });
  });

  it("finishes a running request on SIGTERM and exits 0", async () => {
    const dataDir = join(dir, "data-term");
    const child = await startChild(configFile, dataDir);
    children.push(child);

    const placed = JSON.stringify(lifecycleSnapshots()[0]);
    const request = startSlowWebhook(child.url, placed);
    await waitFor(
      () => child.lines.some((line) => line.msg === "request started"),
      5_000,
      "the service to start reading the request",
    );

    child.process.kill("SIGTERM");
    await waitFor(
      () =>
        child.lines.some(
          (line) => line.msg === "signal received; shutting down",
        ),
      5_000,
      "the child to take the signal",
    );
    await assert.rejects(
      fetch(`${child.url}/healthz`),
      "a new connection was accepted after SIGTERM",
    );

    request.finish();
    const response = await request.closed;
    assert.match(response, /^HTTP\/1\.1 200 /);
    assert.match(response, /connection: close/i);
    assert.match(response, /"outcome":"created"/);

    assert.equal(await child.exit, 0);
    assert.ok(
      child.lines.some((line) => line.msg === "stopped; the store is flushed"),
    );
  });

  it("keeps the order after a restart", async () => {
    const dataDir = join(dir, "data-term");
    const child = await startChild(configFile, dataDir);
    children.push(child);

    const response = await fetch(`${child.url}/webhooks/bbot`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: DEMO_AUTH },
      body: JSON.stringify(lifecycleSnapshots()[0]),
    });
    const body = (await response.json()) as { outcome: string };
    assert.equal(body.outcome, "duplicate");

    const events = await waitFor(
      async () => {
        const text = await readFile(join(dataDir, "events.jsonl"), "utf8");
        return text.includes('"order.created"') ? text : undefined;
      },
      5_000,
      "order.created in the events file",
    );
    assert.ok(events.length > 0);

    child.process.kill("SIGINT");
    assert.equal(await child.exit, 0);
  });
});
