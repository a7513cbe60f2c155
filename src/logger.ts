import pino, { type Logger } from "pino";

/**
 * Paths pino masks in every log line. Request handlers never log bodies or guest fields, and
 * these catch any that slip into an error's details: credentials, tokens, and the guest's
 * e-mail, phone, names and card data in both Bbot's and the canonical spelling.
 */
const REDACTED_PATHS = [
  "req.headers.authorization",
  "headers.authorization",
  "authorization",
  "password",
  "token",
  "secret",
  "*.password",
  "*.token",
  "*.secret",
  "*.guest",
  "*.guest_email",
  "*.guest_name",
  "*.guest_first_name",
  "*.guest_last_name",
  "*.mobile",
  "*.email",
  "*.phone",
  "*.last4",
  "*.fingerprint",
  "*.charge",
  "order.guest",
  "order.charge",
];

/** Creates the service's root logger: JSON lines, or readable text when `pretty` is set. */
export function createLogger(options: {
  level: string;
  pretty?: boolean;
  destination?: pino.DestinationStream;
}): Logger {
  const config: pino.LoggerOptions = {
    level: options.level,
    base: { service: "bbot-bridge" },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  };

  if (options.destination) return pino(config, options.destination);
  if (options.pretty) {
    return pino({
      ...config,
      transport: { target: "pino-pretty", options: { colorize: true } },
    });
  }
  return pino(config);
}

/** Creates a logger that drops everything, for tests and one-shot commands. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
