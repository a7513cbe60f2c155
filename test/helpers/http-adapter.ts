import * as yup from "yup";

import { adapterRegistry } from "../../adapters/index.ts";
import type {
  AdapterFactory,
  AdapterRegistry,
} from "../../src/delivery/contract.ts";
import { sendHttp } from "../../src/delivery/http.ts";
import { EVENT_TYPES } from "../../src/orders/events.ts";

const httpTestOptionsSchema = yup
  .object({
    /** Where each event is posted, always a fake server on 127.0.0.1 in tests. */
    url: yup.string().required(),
    /** Sent as `Authorization`, so tests can check that no log or record repeats it. */
    authorization: yup.string().optional(),
  })
  .noUnknown(true, "unknown key ${unknown}; allowed: url, authorization");

export type HttpTestOptions = yup.InferType<typeof httpTestOptionsSchema>;

/**
 * A test-only adapter type, `http-test`: posts each event as JSON to `options.url` through
 * `sendHttp`, so the engine's HTTP failure handling runs against a fake server.
 */
export const httpTestAdapter: AdapterFactory<HttpTestOptions> = {
  type: "http-test",
  optionsSchema: httpTestOptionsSchema,
  defaultEvents: EVENT_TYPES,
  create(options) {
    const headers: Record<string, string> = {};
    if (options.authorization) headers.Authorization = options.authorization;
    return {
      type: "http-test",
      async handle(event, context) {
        await sendHttp({ url: options.url, body: event, headers }, context);
      },
    };
  },
};

/** The production adapter types plus `http-test`. */
export const testRegistry: AdapterRegistry = new Map([
  ...adapterRegistry,
  [httpTestAdapter.type, httpTestAdapter],
]);
