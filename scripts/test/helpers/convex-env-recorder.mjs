#!/usr/bin/env node
// Stands in for `npx convex` in tests of the provisioning script and of `npm run dev`: answers
// the `env` commands the way the Convex CLI 1.48 does (names on stdout for `env list
// --names-only`, a value read from stdin for `env set NAME` without a value, trailing newline
// dropped); `dev` is recorded and then watches (waits) until it is stopped, as the real one does;
// anything else is refused as the real CLI would. State and every call are kept in the JSON
// file named by RECORDER_STATE.
import { readFileSync, writeFileSync } from "node:fs";

const file = process.env.RECORDER_STATE;
if (!file) {
  console.error("RECORDER_STATE is not set");
  process.exit(2);
}
const state = JSON.parse(readFileSync(file, "utf8"));
const args = process.argv.slice(2);
const save = () => writeFileSync(file, JSON.stringify(state, null, 2));
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

async function envSet(rest) {
  const [name, value, ...extra] = rest;
  if (!name) fail("missing required argument 'name'");
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
