import type {
  AdapterFactory,
  AdapterRegistry,
} from "../src/delivery/contract.ts";
import { accountingAdapter } from "./accounting/index.ts";
import { jsonlAdapter } from "./jsonl/index.ts";
import { loyaltyAdapter } from "./loyalty/index.ts";
import { posAdapter } from "./pos/index.ts";
import { slackAdapter } from "./slack/index.ts";

/** Every adapter type in this build, by the `type` name used in config. */
export const adapterRegistry: AdapterRegistry = new Map<
  string,
  // Each factory checks its own options type, so the map contains factories of several.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  AdapterFactory<any>
>(
  [
    jsonlAdapter,
    slackAdapter,
    loyaltyAdapter,
    posAdapter,
    accountingAdapter,
  ].map((factory) => [factory.type, factory]),
);
