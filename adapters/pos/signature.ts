import { createHmac } from "node:crypto";

/** Standard Webhooks secrets are `whsec_` followed by the base64 of the HMAC key. */
export const SECRET_PREFIX = "whsec_";

/** Decodes a `whsec_<base64>` secret into its key bytes, or returns null for any other shape. */
export function decodeSecret(secret: string): Buffer | null {
  if (!secret.startsWith(SECRET_PREFIX)) return null;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return null;
  const key = Buffer.from(encoded, "base64");
  return key.length > 0 ? key : null;
}

/** The three Standard Webhooks headers of one request. */
export interface WebhookHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/**
 * Signs a body the Standard Webhooks way: HMAC-SHA256 over `${id}.${timestamp}.${body}`,
 * base64, written `v1,<signature>`. It writes one signature per key, space-separated, so a
 * receiver that has either the old or the new secret accepts the request during a rotation.
 */
export function signWebhook(
  id: string,
  timestampSeconds: number,
  body: string,
  keys: readonly Buffer[],
): WebhookHeaders {
  const timestamp = String(timestampSeconds);
  const content = `${id}.${timestamp}.${body}`;
  const signatures = keys.map(
    (key) => `v1,${createHmac("sha256", key).update(content).digest("base64")}`,
  );
  return {
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": signatures.join(" "),
  };
}
