#!/usr/bin/env node
// Merges the settings the host agent needs (deploy/docker/daemon.json) into the engine's
// /etc/docker/daemon.json without losing a key the operator set. Node, because it is the one
// JSON tool a provisioned host is sure to have: the agent needs it, and provision-host.sh
// installs it before this runs (jq and python3 are not on a minimal Debian 12).
//
//   node scripts/daemon-json.mjs check <wanted.json> <daemon.json>   exit 0: nothing to change, 3: a merge would change it
//   node scripts/daemon-json.mjs merge <wanted.json> <daemon.json>   writes the merged file (atomically, mode 0644)
//
// Rules: `live-restore` is set to the wanted value (containers must outlive an engine restart).
// `log-driver` is set only when absent; when the effective driver is json-file, each wanted
// `log-opts` key is added when absent (an operator's own max-size is still rotation, so it stays).
// Another log driver is the operator's choice and is left alone, with a note. A file that is
// not a JSON object is never overwritten: exit 2 and say so.
import { readFileSync, renameSync, writeFileSync, existsSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";

const [mode, wantedPath, targetPath] = process.argv.slice(2);
if (!["check", "merge"].includes(mode ?? "") || !wantedPath || !targetPath) {
  console.error("usage: daemon-json.mjs check|merge <wanted.json> <daemon.json>");
  process.exit(64);
}

const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);

function readObject(file, what) {
  let parsed;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    console.error(`${file} (${what}) is not valid JSON (${err.message}); fix it by hand, it is left as it is`);
    process.exit(2);
  }
  if (!isObject(parsed)) {
    console.error(`${file} (${what}) is not a JSON object; fix it by hand, it is left as it is`);
    process.exit(2);
  }
  return parsed;
}

const wanted = readObject(wantedPath, "wanted settings");
const current = existsSync(targetPath) ? readObject(targetPath, "the engine's settings") : {};
const merged = structuredClone(current);

merged["live-restore"] = wanted["live-restore"];
if (merged["log-driver"] === undefined) merged["log-driver"] = wanted["log-driver"];
if (merged["log-driver"] === wanted["log-driver"]) {
  const opts = isObject(merged["log-opts"]) ? merged["log-opts"] : {};
  for (const [key, value] of Object.entries(wanted["log-opts"] ?? {})) if (opts[key] === undefined) opts[key] = value;
  merged["log-opts"] = opts;
} else {
  console.error(
    `note: ${targetPath} sets log-driver "${merged["log-driver"]}"; it is kept, so its rotation is its own settings' business`,
  );
}

const unchanged = existsSync(targetPath) && isDeepStrictEqual(current, merged);
if (mode === "check") process.exit(unchanged ? 0 : 3);
if (unchanged) process.exit(0);
const tmp = `${targetPath}.tmp-${process.pid}`;
writeFileSync(tmp, JSON.stringify(merged, null, 2) + "\n", { mode: 0o644 });
renameSync(tmp, targetPath);
const kept = Object.keys(current).filter((k) => !(k in wanted));
console.log(`wrote ${targetPath}${kept.length ? ` (kept ${kept.join(", ")})` : ""}`);
