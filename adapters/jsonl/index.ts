import { mkdir, open, type FileHandle } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import * as yup from "yup";

import type { AdapterFactory } from "../../src/delivery/contract.ts";
import { TransientDeliveryError } from "../../src/delivery/errors.ts";
import { EVENT_TYPES } from "../../src/orders/events.ts";

export const jsonlOptionsSchema = yup
  .object({
    /** File the events are appended to; a relative path starts at the data folder. Default `events.jsonl`. */
    path: yup.string().trim().min(1).default("events.jsonl"),
  })
  .exact("unknown key ${properties}; allowed: path");

export type JsonlOptions = yup.InferType<typeof jsonlOptionsSchema>;

/**
 * Appends every event it receives to a file as one JSON object a line. The file stays open in
 * append mode between events, so rotate it by copying and truncating. A failed append is
 * transient: the disk may have room again later.
 */
export const jsonlAdapter: AdapterFactory<JsonlOptions> = {
  type: "jsonl",
  optionsSchema: jsonlOptionsSchema,
  defaultEvents: EVENT_TYPES,
  // Appends to a local file are cheap and need no ordering across orders.
  defaultConcurrency: 32,
  create(options, deps) {
    const file = isAbsolute(options.path)
      ? options.path
      : join(deps.dataDir, options.path);
    let handle: Promise<FileHandle> | undefined;

    return {
      type: "jsonl",
      async start() {
        await mkdir(dirname(file), { recursive: true });
      },
      async stop() {
        const current = handle;
        handle = undefined;
        await (await current?.catch(() => undefined))?.close();
      },
      async handle(event, context) {
        const line = `${JSON.stringify({ ...event, idempotencyKey: context.idempotencyKey })}\n`;
        try {
          handle ??= open(file, "a");
          await (await handle).write(line);
        } catch (error) {
          // Open the file again on the next attempt, in case it was the handle that failed.
          const failed = handle;
          handle = undefined;
          void failed?.then((broken) => broken.close()).catch(() => undefined);
          throw new TransientDeliveryError(
            `cannot append to ${file}: ${(error as Error).message}`,
            {},
            { cause: error },
          );
        }
      },
    };
  },
};
