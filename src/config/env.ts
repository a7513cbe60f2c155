/** A `${NAME}` or `${NAME:-fallback}` reference inside a config string. */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** A config string that refers to an environment variable that is not set. */
export interface MissingVariable {
  path: string;
  variable: string;
}

/**
 * Replaces every `${NAME}` and `${NAME:-fallback}` reference in the strings of a parsed
 * config, so secrets can stay in the environment instead of the file.
 *
 * Returns the resolved copy and the references that named an unset variable without a fallback.
 */
export function resolveEnvReferences(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path = "",
): { value: unknown; missing: MissingVariable[] } {
  const missing: MissingVariable[] = [];

  const visit = (node: unknown, at: string): unknown => {
    if (typeof node === "string") {
      return node.replace(
        REFERENCE,
        (_match, name: string, fallback?: string) => {
          const found = env[name];
          if (found !== undefined && found !== "") return found;
          if (fallback !== undefined) return fallback;
          missing.push({ path: at, variable: name });
          return "";
        },
      );
    }
    if (Array.isArray(node)) {
      return node.map((item, index) => visit(item, `${at}[${index}]`));
    }
    if (node !== null && typeof node === "object") {
      const copy: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(node)) {
        copy[key] = visit(item, at === "" ? key : `${at}.${key}`);
      }
      return copy;
    }
    return node;
  };

  return { value: visit(value, path), missing };
}
