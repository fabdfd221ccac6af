// Prints one setting as this project's tools read it: the environment first, then each file given,
// in order, parsed as .env files (Node's parseEnv, as the agent and npm run convex:env parse them).
// Prints nothing when unset. Usage: node scripts/env-value.mjs NAME [FILE...]
import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";

const [name, ...files] = process.argv.slice(2);
let value = process.env[name];
for (const file of files) {
  if (value) break;
  if (existsSync(file)) value = parseEnv(readFileSync(file, "utf8"))[name];
}
if (value) console.log(value);
