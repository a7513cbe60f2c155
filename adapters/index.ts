import type {
  AdapterFactory,
  AdapterRegistry,
} from "../src/delivery/contract.ts";
import { jsonlAdapter } from "./jsonl/index.ts";
import { slackAdapter } from "./slack/index.ts";

/** Every adapter type this build knows, by the `type` name used in config. */
export const adapterRegistry: AdapterRegistry = new Map<
  string,
  AdapterFactory<any>
>([jsonlAdapter, slackAdapter].map((factory) => [factory.type, factory]));
