import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as yup from "yup";

import type { AdapterRegistry } from "../delivery/contract.ts";
import { resolveEnvReferences } from "./env.ts";
import {
  configSchema,
  type AdapterEntry,
  type BridgeConfig,
} from "./schema.ts";

/** The config embedded in the package, used when neither a flag nor `BBOT_BRIDGE_CONFIG` names one. */
export const DEFAULT_CONFIG_PATH = fileURLToPath(
  new URL("../../config/default.json", import.meta.url),
);

/** One config problem: where it is, what was found and what is allowed. */
export interface ConfigProblem {
  path: string;
  message: string;
  value?: unknown;
  /** Set when the value is a secret or came from the environment; the message then hides it. */
  hideValue?: string;
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
      problem.hideValue !== undefined
        ? ` (found ${problem.hideValue})`
        : "value" in problem
          ? ` (found ${describeValue(problem.value)})`
          : "";
    return `  - ${problem.path || "(top level)"}: ${problem.message}${found}`;
  });
  return `invalid config ${file}:\n${lines.join("\n")}`;
}

function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  // Only the keys of an object: its values may be resolved secrets.
  if (isPlainObject(value))
    return `an object with keys ${Object.keys(value).join(", ") || "(none)"}`;
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

/**
 * Options of every config check. yup 1.x strips the unknown keys of a `noUnknown()` object
 * before its test runs, so without `stripUnknown: false` a misspelt key vanishes silently.
 */
const VALIDATE_OPTIONS = { abortEarly: false, stripUnknown: false } as const;

/**
 * Tells whether a problem only repeats an unset variable: a rule broken by the variable's empty
 * value, or an object-level rule of the object that contains it (such as "needs an id").
 */
function followsFromUnset(path: string, unset: readonly string[]): boolean {
  return unset.some(
    (at) => at === path || (path !== "" && at.startsWith(`${path}.`)),
  );
}

/** Checks an already parsed config object; see `loadConfig`. */
export function checkConfig(
  file: string,
  raw: unknown,
  registry: AdapterRegistry,
  env: NodeJS.ProcessEnv = process.env,
): BridgeConfig {
  const resolved = resolveEnvReferences(raw, env);
  const problems: ConfigProblem[] = [];
  problems.push(...unknownKeyProblems(configSchema, resolved.value, ""));

  let config: BridgeConfig | undefined;
  try {
    config = configSchema.validateSync(resolved.value, VALIDATE_OPTIONS);
  } catch (error) {
    if (!(error instanceof yup.ValidationError)) throw error;
    problems.push(...validationProblems(error));
  }

  if (config) problems.push(...crossCheck(config, registry));
  else problems.push(...rawAdapterProblems(resolved.value, registry));

  const unset = resolved.missing.map((missing) => missing.path);
  const missingProblems: ConfigProblem[] = resolved.missing.map((missing) => ({
    path: missing.path,
    message: `environment variable ${missing.variable} is not set; set it or write \${${missing.variable}:-fallback}`,
  }));
  problems.splice(
    0,
    problems.length,
    ...missingProblems,
    ...problems.filter((problem) => !followsFromUnset(problem.path, unset)),
  );
  if (problems.length > 0 || !config) {
    throw new ConfigError(file, hideSecrets(problems, raw));
  }
  return config;
}

/** Keys whose values are credentials or carry them, such as a Slack webhook URL. */
const SECRET_KEY =
  /(password|secrets?|token|apikey|api_key|webhookurl|accesskey|headers|authorization)$/i;

/**
 * Keeps secrets out of error messages: a value written as an environment reference is shown
 * as that reference, and the value of a secret key is not shown at all.
 */
function hideSecrets(problems: ConfigProblem[], raw: unknown): ConfigProblem[] {
  return problems.map((problem) => {
    if (!("value" in problem)) return problem;

    const written = valueAt(raw, problem.path);
    if (typeof written === "string" && written.includes("${")) {
      return {
        ...problem,
        hideValue: `${JSON.stringify(written)} after resolving; the resolved value is not shown`,
      };
    }
    // Any key on the path counts: `secrets[0]` and `headers.X-Api-Key` are secrets as well.
    const keys = problem.path.split(/[.[\]]/).filter(Boolean);
    if (keys.some((key) => SECRET_KEY.test(key))) {
      return {
        ...problem,
        hideValue: "a value that is not shown: it is a secret",
      };
    }
    return problem;
  });
}

/** Reads the value at a key path such as `restaurants[0].auth.password`. */
function valueAt(root: unknown, path: string): unknown {
  let node = root;
  for (const key of path.split(/[.[\]]/).filter(Boolean)) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/**
 * Lists keys the schema does not define, such as a misspelt `timezone`, which yup would
 * otherwise drop without a word. Objects whose schema already rejects unknown keys and
 * free-form objects (an adapter's `options`, checked by its own schema) are left alone.
 */
function unknownKeyProblems(
  schema: yup.Schema,
  value: unknown,
  path: string,
): ConfigProblem[] {
  if (schema instanceof yup.ArraySchema && Array.isArray(value)) {
    const inner = schema.innerType as yup.Schema | undefined;
    if (!inner) return [];
    return value.flatMap((item, index) =>
      unknownKeyProblems(inner, item, `${path}[${index}]`),
    );
  }
  if (!(schema instanceof yup.ObjectSchema) || !isPlainObject(value)) return [];

  const fields = schema.fields as Record<string, yup.Schema>;
  const allowed = Object.keys(fields);
  if (allowed.length === 0) return [];

  const problems: ConfigProblem[] = [];
  for (const [key, item] of Object.entries(value)) {
    const at = joinPath(path, key);
    const field = fields[key];
    if (field) {
      problems.push(...unknownKeyProblems(field, item, at));
    } else if (!schema.spec.noUnknown) {
      problems.push({
        path: at,
        message: `unknown key; allowed here: ${allowed.join(", ")}`,
      });
    }
  }
  return problems;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function validationProblems(
  error: yup.ValidationError,
  prefix = "",
): ConfigProblem[] {
  const inner = error.inner.length > 0 ? error.inner : [error];
  return inner.map((item) => {
    const path = joinPath(prefix, item.path ?? "");
    const subject = item.path ? `${item.path} ` : "";
    const message =
      subject && item.message.startsWith(subject)
        ? item.message.slice(subject.length)
        : item.message;
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
          message: `also used by restaurants[${other}], so webhooks could not be matched to one of them. Give each restaurant its own id`,
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

/**
 * Checks adapter types and options when the rest of the config failed its schema, so one run
 * lists those problems too.
 */
function rawAdapterProblems(
  value: unknown,
  registry: AdapterRegistry,
): ConfigProblem[] {
  if (!isPlainObject(value) || !Array.isArray(value.restaurants)) return [];

  return value.restaurants.flatMap((restaurant: unknown, index) => {
    if (!isPlainObject(restaurant) || !Array.isArray(restaurant.adapters))
      return [];
    const entries = restaurant.adapters.map((entry: unknown) =>
      isPlainObject(entry) ? entry : {},
    );
    return checkAdapters(entries, `restaurants[${index}].adapters`, registry);
  });
}

/** The fields of an adapter entry that the adapter checks need. */
interface AdapterEntryInput {
  name?: unknown;
  type?: unknown;
  options?: unknown;
}

function checkAdapters(
  adapters: AdapterEntryInput[],
  at: string,
  registry: AdapterRegistry,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const names = new Set<unknown>();

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

    // A missing or non-string type already failed the entry schema.
    if (typeof entry.type !== "string") return;
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
      entry.options = factory.optionsSchema.validateSync(entry.options ?? {}, {
        ...VALIDATE_OPTIONS,
      }) as Record<string, unknown>;
    } catch (error) {
      if (!(error instanceof yup.ValidationError)) throw error;
      problems.push(...validationProblems(error, `${path}.options`));
      return;
    }
    // Before the entry schema has run (a broken config), personalData may still be absent.
    const checked = {
      ...entry,
      personalData: (entry as { personalData?: unknown }).personalData ?? [],
    } as AdapterEntry;
    for (const problem of factory.checkEntry?.(checked, entry.options) ?? []) {
      problems.push({
        path: `${path}.${problem.path}`,
        message: problem.message,
      });
    }
  });

  return problems;
}
