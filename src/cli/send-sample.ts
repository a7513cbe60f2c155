import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import axios from "axios";

export const SEND_SAMPLE_USAGE = `Usage: bbot-bridge send-sample [options]

Posts the sample order's lifecycle to a running service, one snapshot after another:
placed, accepted, ready for driver, delivered, a partial refund, closed.

  --url URL            webhook URL (default http://127.0.0.1:$PORT/webhooks/bbot)
  --user NAME          Basic auth user (default $BBOT_DEMO_USER or demo)
  --password SECRET    Basic auth password (default $BBOT_DEMO_PASSWORD or demo)
  --delay MS           pause between snapshots, in milliseconds (default 0)
`;

const LIFECYCLE_DIR = fileURLToPath(
  new URL("../../test/fixtures/lifecycle/", import.meta.url),
);

/** Runs `bbot-bridge send-sample`; returns the exit code. */
export async function runSendSample(
  argv: string[],
  out: (text: string) => void,
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: "string" },
      user: { type: "string" },
      password: { type: "string" },
      delay: { type: "string", default: "0" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    out(SEND_SAMPLE_USAGE);
    return 0;
  }

  const url =
    values.url ??
    `http://127.0.0.1:${process.env.PORT ?? "3000"}/webhooks/bbot`;
  const user = values.user ?? (process.env.BBOT_DEMO_USER || "demo");
  const password =
    values.password ?? (process.env.BBOT_DEMO_PASSWORD || "demo");
  const delay = Number(values.delay);
  const files = readdirSync(LIFECYCLE_DIR)
    .filter((name) => name.endsWith(".json"))
    .sort();

  let failed = 0;
  for (const file of files) {
    const body = readFileSync(`${LIFECYCLE_DIR}${file}`, "utf8");
    let status: number;
    let answer: {
      outcome?: string;
      events?: { type: string }[];
      error?: string;
    };
    try {
      const response = await axios.post(url, body, {
        auth: { username: user, password },
        headers: { "Content-Type": "application/json" },
        validateStatus: () => true,
      });
      status = response.status;
      answer = response.data as typeof answer;
    } catch (error) {
      out(
        `cannot reach ${url} (${(error as Error).message}); start the service with "npm start" first`,
      );
      return 1;
    }

    if (status >= 300) failed += 1;
    const summary =
      answer.error ??
      `${answer.outcome}: ${(answer.events ?? []).map((event) => event.type).join(", ") || "no events"}`;
    out(`${file.replace(/\.json$/, "").padEnd(22)} HTTP ${status}  ${summary}`);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  }
  return failed === 0 ? 0 : 1;
}
