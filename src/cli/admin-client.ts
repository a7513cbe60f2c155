import axios from "axios";

/** Location of a running service's admin API for the CLI. */
export interface AdminTarget {
  /** Base URL of the service. Default `http://127.0.0.1:${PORT:-3000}`. */
  url: string;
  /** The admin bearer token, from `BBOT_BRIDGE_ADMIN_TOKEN`. */
  token: string | undefined;
}

/** An admin API response that was not a success, with the service's own error message. */
export class AdminRequestError extends Error {
  override readonly name = "AdminRequestError";

  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Reads the admin target from the environment and an optional `--url` flag. */
export function adminTarget(
  flagUrl: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): AdminTarget {
  const host = env.HOST && env.HOST !== "0.0.0.0" ? env.HOST : "127.0.0.1";
  return {
    url: (flagUrl ?? `http://${host}:${env.PORT ?? "3000"}`).replace(/\/$/, ""),
    token: env.BBOT_BRIDGE_ADMIN_TOKEN || undefined,
  };
}

/** Calls the running service's admin API under `/admin` and returns the JSON response. */
export class AdminClient {
  constructor(private readonly target: AdminTarget) {}

  async request<T>(
    method: "GET" | "POST" | "DELETE",
    path: string,
    body?: unknown,
  ): Promise<T> {
    if (!this.target.token) {
      throw new AdminRequestError(
        "BBOT_BRIDGE_ADMIN_TOKEN is not set; set it to the token the service was started with",
      );
    }

    let response;
    try {
      response = await axios.request({
        url: `${this.target.url}/admin${path}`,
        method,
        data: body,
        headers: { Authorization: `Bearer ${this.target.token}` },
        validateStatus: () => true,
        timeout: 60_000,
      });
    } catch (error) {
      throw new AdminRequestError(
        `cannot reach bbot-bridge at ${this.target.url} (${(error as Error).message}); start it with "npm start" or pass --url`,
      );
    }

    if (response.status >= 200 && response.status < 300)
      return response.data as T;
    const message =
      typeof response.data === "object" &&
      response.data &&
      "error" in response.data
        ? String((response.data as { error: unknown }).error)
        : `HTTP ${response.status}`;
    throw new AdminRequestError(
      `admin API ${method} ${path} failed: ${message}`,
      response.status,
    );
  }
}
