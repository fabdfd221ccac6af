#!/usr/bin/env node
// Stands in for `npx convex` in tests of the provisioning script and of `npm run dev`: answers
// the `env` commands the way the Convex CLI 1.48 does (names on stdout for `env list
// --names-only`; `env set` with no name reads .env lines from stdin and refuses the whole call
// when any variable is already set to another value; `env set NAME` reads one value from stdin,
// trailing newline dropped); `dev` is recorded and then watches (waits) until it is stopped, as
// the real one does; anything else is refused as the real CLI would. State and every call are
// kept in the JSON file named by RECORDER_STATE, written atomically (a reader never sees half).
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { parseEnv } from "node:util";

const file = process.env.RECORDER_STATE;
if (!file) {
  console.error("RECORDER_STATE is not set");
  process.exit(2);
}
const state = JSON.parse(readFileSync(file, "utf8"));
const args = process.argv.slice(2);
const save = () => {
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${file}.tmp`, file);
};
const fail = (message) => {
  console.error(`✖ ${message}`);
  process.exit(1);
};

async function readStdin() {
  let data = "";
  process.stdin.setEncoding("utf8");
  for await (const chunk of process.stdin) data += chunk;
  return data.replace(/\n$/, "");
}

if (state.down) fail("Local backend isn't running. (it's not listening at http://127.0.0.1:3210)");

function dev() {
  state.calls.push({ argv: args, env: { CONVEX_AGENT_MODE: process.env.CONVEX_AGENT_MODE ?? null } });
  save();
  console.log("✔ Convex functions ready! (recorder)");
  // Watches until stopped, like `npx convex dev`.
  setInterval(() => undefined, 1 << 30);
  process.once("SIGTERM", () => process.exit(0));
}

function envList(rest) {
  state.calls.push({ argv: args });
  save();
  const names = Object.keys(state.env);
  if (names.length === 0) console.error("No environment variables set");
  for (const name of names) console.log(rest.includes("--names-only") ? name : `${name}=${state.env[name]}`);
}

async function envSetMany() {
  if (process.stdin.isTTY) fail("no variables on stdin");
  const values = parseEnv(await readStdin());
  const names = Object.keys(values);
  if (names.length === 0) fail("error: No environment variables specified to be set.");
  const conflicting = names.filter((n) => n in state.env && state.env[n] !== values[n]);
  if (conflicting.length > 0) fail(`refusing: ${conflicting.join(", ")} already set to different values (use --force)`);
  state.calls.push({ argv: args, stdinUsed: true, names });
  Object.assign(state.env, values);
  save();
  console.error(`✔ Successfully set ${names.length} environment variables`);
}

async function envSet(rest) {
  const [name, value, ...extra] = rest;
  if (!name) return envSetMany();
  if (extra.length > 0) fail(`too many arguments for 'set'. Expected 2 arguments but got ${rest.length}.`);
  if (!/^[a-zA-Z][a-zA-Z0-9_]*$/.test(name)) fail(`Invalid environment variable name ${name}`);
  if (process.stdin.isTTY && value === undefined) fail("no value and no stdin");
  const stdin = value === undefined ? await readStdin() : undefined;
  state.calls.push({ argv: args, stdinUsed: value === undefined });
  state.env[name] = value ?? stdin;
  save();
  console.error(`✔ Successfully set ${name}`);
}

const [group, command, ...rest] = args;
if (group === "dev") dev();
else if (group === "env" && command === "list") envList(rest);
else if (group === "env" && command === "set") await envSet(rest);
else fail(`unknown command '${args.join(" ")}'`);
