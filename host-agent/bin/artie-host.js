#!/usr/bin/env node
// The `artie-host` command (host-agent/src/cli/main.ts): the CLI runs from TypeScript source
// through tsx, as the agent does (`node --import tsx`), so a checkout needs no build step.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
