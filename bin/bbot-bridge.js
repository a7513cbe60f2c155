#!/usr/bin/env node
// Starts the TypeScript CLI through tsx, so the package runs without a build step.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/run.ts");
