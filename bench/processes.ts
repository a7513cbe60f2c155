import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { openSync, closeSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

import type { ProcessStats } from "./instrument.ts";

/** The repository root, where the server processes run. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
const INSTRUMENT = fileURLToPath(new URL("./instrument.ts", import.meta.url));

/** Maximum time from spawn until the first health check returns 200. */
const STARTUP_TIMEOUT_MS = 60_000;

/** A server process started by the bench. */
export interface ServerProcess {
  pid: number;
  url: string;
  /** From spawn to the first successful health check, in milliseconds. */
  startupMs: number;
  /** Reads the process's figures. With `reset`, a new measuring window starts after reading. */
  stats(reset: boolean): Promise<ProcessStats>;
  /** Sends SIGTERM to the process by its pid and waits for it to exit. */
  stop(): Promise<void>;
}

/** Options for `startServer`. */
export interface StartServerOptions {
  /** Script and arguments, relative to the repository root. */
  args: string[];
  env: Record<string, string>;
  /** File that receives the process's stdout and stderr. */
  logFile: string;
  /** Extra Node options, such as `--cpu-prof`. */
  nodeOptions?: string[];
}

/** Finds a free TCP port on 127.0.0.1 by letting the system pick one and releasing it. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts a Node process running TypeScript through tsx with the bench's instrumentation
 * loaded, on 127.0.0.1 and a free port, and waits until `GET /healthz` returns 200.
 */
export async function startServer(
  options: StartServerOptions,
): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = openSync(options.logFile, "a");
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeOptions ?? []),
      "--import",
      "tsx",
      "--import",
      INSTRUMENT,
      ...options.args,
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        ...options.env,
        PORT: String(port),
        HOST: "127.0.0.1",
      },
      stdio: ["ignore", log, log, "ipc"],
    },
  );
  closeSync(log);
  const exited = once(child, "exit");

  try {
    await waitForHealth(url, child);
  } catch (error) {
    stopChild(child);
    throw error;
  }
  const startupMs = performance.now() - started;

  return {
    pid: child.pid!,
    url,
    startupMs,
    stats: (reset) => requestStats(child, reset),
    stop: async () => {
      stopChild(child);
      await exited;
    },
  };
}

async function waitForHealth(url: string, child: ChildProcess): Promise<void> {
  const deadline = performance.now() + STARTUP_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (hasExited(child)) {
      throw new Error(
        `the server process exited (code ${child.exitCode}, signal ${child.signalCode}) before ${url}/healthz returned 200; see its log`,
      );
    }
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(
    `${url}/healthz did not return 200 within ${STARTUP_TIMEOUT_MS} ms; see the server log`,
  );
}

function requestStats(
  child: ChildProcess,
  reset: boolean,
): Promise<ProcessStats> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error("the server process sent no stats within 5 s")),
      5_000,
    );
    child.once("message", (message: ProcessStats) => {
      clearTimeout(timer);
      resolve(message);
    });
    child.send({ type: "stats", reset });
  });
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function stopChild(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined || hasExited(child)) return;
  process.kill(pid, "SIGTERM");
  // A process that ignores SIGTERM for 15 s is killed, so the bench always ends.
  const timer = setTimeout(() => {
    if (!hasExited(child)) process.kill(pid, "SIGKILL");
  }, 15_000);
  timer.unref();
  child.once("exit", () => clearTimeout(timer));
}
