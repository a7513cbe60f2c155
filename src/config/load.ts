import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as yup from "yup";

import type { AdapterRegistry } from "../delivery/contract.ts";
import { resolveEnvReferences } from "./env.ts";
import { configSchema, type BridgeConfig } from "./schema.ts";

/** The config embedded in the package, used when neither a flag nor `BBOT_BRIDGE_CONFIG` names one. */
export const DEFAULT_CONFIG_PATH = fileURLToPath(
  new URL("../../config/default.json", import.meta.url),
);

/** One config problem: where it is, what was found and what is allowed. */
export interface ConfigProblem {
  path: string;
  message: string;
  value?: unknown;
}

/** Raised when a config file cannot be read or breaks a rule; lists every problem found. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";

  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
    options?: ErrorOptions,
  ) {
    super(formatProblems(file, problems), options);
  }
}

function formatProblems(file: string, problems: ConfigProblem[]): string {
  const lines = problems.map((problem) => {
    const found =
      "value" in problem ? ` (found ${describeValue(problem.value)})` : "";
    return `  - ${problem.path || "(top level)"}: ${problem.message}${found}`;
  });
  return `invalid config ${file}:\n${lines.join("\n")}`;
}

function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** A loaded, checked config with the adapter options checked by each adapter's schema. */
export interface LoadedConfig {
  file: string;
  config: BridgeConfig;
}

/**
 * Reads, resolves and checks a config file. Throws `ConfigError` listing every problem:
 * unreadable file, invalid JSON, unset environment variables, schema violations, duplicate
 * ids and adapter options rejected by the adapter type's schema.
 */
export function loadConfig(
  file: string,
  registry: AdapterRegistry,
  env: NodeJS.ProcessEnv = process.env,
): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT"
        ? "file not found"
        : String(error);
    throw new ConfigError(
      file,
      [{ path: "", message: `cannot read the file: ${reason}` }],
      {
        cause: error,
      },
    );
  }

  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      file,
      [{ path: "", message: `invalid JSON: ${(error as Error).message}` }],
      {
        cause: error,
      },
    );
  }

  return { file, config: checkConfig(file, raw, registry, env) };
}

/** Checks an already parsed config object; see `loadConfig`. */
export function checkConfig(
  file: string,
  raw: unknown,
  registry: AdapterRegistry,
  env: NodeJS.ProcessEnv = process.env,
): BridgeConfig {
  const resolved = resolveEnvReferences(raw, env);
  const problems: ConfigProblem[] = resolved.missing.map((missing) => ({
    path: missing.path,
    message: `environment variable ${missing.variable} is not set; set it or write \${${missing.variable}:-fallback}`,
  }));

  let config: BridgeConfig | undefined;
  try {
    config = configSchema.validateSync(resolved.value, { abortEarly: false });
  } catch (error) {
    if (!(error instanceof yup.ValidationError)) throw error;
    problems.push(...validationProblems(error));
  }

  if (config) problems.push(...crossCheck(config, registry));
  if (problems.length > 0 || !config) throw new ConfigError(file, problems);
  return config;
}

function validationProblems(
  error: yup.ValidationError,
  prefix = "",
): ConfigProblem[] {
  const inner = error.inner.length > 0 ? error.inner : [error];
  return inner.map((item) => {
    const path = joinPath(prefix, item.path ?? "");
    const message = item.message.replace(`${item.path ?? ""} `, "");
    return { path, message, value: item.value };
  });
}

function joinPath(prefix: string, path: string): string {
  if (prefix === "") return path;
  if (path === "") return prefix;
  return path.startsWith("[") ? `${prefix}${path}` : `${prefix}.${path}`;
}

/** Rules that span several entries: unique ids, known adapter types and their options. */
function crossCheck(
  config: BridgeConfig,
  registry: AdapterRegistry,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seenIds = new Map<string, number>();
  const seenMatch = new Map<string, number>();

  config.restaurants.forEach((restaurant, index) => {
    const at = `restaurants[${index}]`;
    const earlier = seenIds.get(restaurant.id);
    if (earlier !== undefined) {
      problems.push({
        path: `${at}.id`,
        message: `duplicates restaurants[${earlier}].id; each restaurant needs its own id`,
        value: restaurant.id,
      });
    }
    seenIds.set(restaurant.id, index);

    for (const key of ["bbotRestaurantId", "customerId"] as const) {
      const value = restaurant[key];
      if (!value) continue;
      const other = seenMatch.get(`${key}:${value}`);
      if (other !== undefined) {
        problems.push({
          path: `${at}.${key}`,
          message: `also used by restaurants[${other}]; webhooks could not be told apart`,
          value,
        });
      }
      seenMatch.set(`${key}:${value}`, index);
    }

    problems.push(
      ...checkAdapters(restaurant.adapters, `${at}.adapters`, registry),
    );
  });

  return problems;
}

function checkAdapters(
  adapters: BridgeConfig["restaurants"][number]["adapters"],
  at: string,
  registry: AdapterRegistry,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const names = new Set<string>();

  adapters.forEach((entry, index) => {
    const path = `${at}[${index}]`;
    if (names.has(entry.name)) {
      problems.push({
        path: `${path}.name`,
        message: "duplicates another adapter name of this restaurant",
        value: entry.name,
      });
    }
    names.add(entry.name);

    const factory = registry.get(entry.type);
    if (!factory) {
      problems.push({
        path: `${path}.type`,
        message: `unknown adapter type; allowed: ${[...registry.keys()].join(", ")}`,
        value: entry.type,
      });
      return;
    }

    try {
      entry.options = factory.optionsSchema.validateSync(entry.options, {
        abortEarly: false,
      }) as Record<string, unknown>;
    } catch (error) {
      if (!(error instanceof yup.ValidationError)) throw error;
      problems.push(...validationProblems(error, `${path}.options`));
    }
  });

  return problems;
}
