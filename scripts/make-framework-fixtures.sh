#!/usr/bin/env bash
# make-framework-fixtures.sh: regenerates the framework corpus under
# host-agent/test/frameworks/fixtures/, the real projects `npm run test:frameworks` and
# `npm run bench:frameworks` set up through the agent. Each fixture is made by its framework's
# own create tool at a pinned version where that tool works offline from GitHub, and by hand
# (the official template's files, written out below) where the tool downloads its template from
# GitHub, which this machine cannot reach. Lockfiles come from the package manager itself.
#
#   bash scripts/make-framework-fixtures.sh            # every fixture
#   bash scripts/make-framework-fixtures.sh nuxt astro # only these
#
# Each fixture is built in a temp dir and replaces its folder only when it is complete, so an
# interrupted run leaves the committed one in place; running it again rebuilds the same projects
# (the lockfiles take the newest versions the pinned ranges allow on that day). Only what the
# project's own .gitignore lets git commit is copied: sources, config, lockfile, never
# node_modules or build output. Every command is printed before it runs.
#
# Versions: the newest create tools, and frameworks pinned to their newest releases that run on
# Node 20 (the test image artie-test/node:20 is the host's Node 20.20): Astro 6+, Nuxt 4.4.6+ and
# SvelteKit 3 need Node 22. Vite 8.4.0 declares an optional dependency the registry does not
# have (napi-windows-process-start-time); npm and pnpm skip it, yarn (classic and berry) stops,
# so the yarn variants pin vite to 8.3.8, as a user hitting that error would.
#
# What it leaves out: it never commits; review `git diff --stat` and the lockfile hosts it
# prints at the end (they must be public registries, never a private mirror) before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/host-agent/test/frameworks/fixtures"

readonly CREATE_VITE_VERSION=9.3.0
readonly SV_VERSION=0.17.1
readonly CREATE_NEXT_APP_VERSION=16.4.3
readonly ASTRO_VERSION=5.18.2
readonly NUXT_VERSION=4.4.5
readonly EXPRESS_VERSION=5.3.0
readonly PNPM_VERSION=10.34.8
readonly YARN_CLASSIC_VERSION=1.22.22
readonly YARN_BERRY_VERSION=4.18.1
readonly VITE_FOR_YARN=8.3.8

readonly ALL=(vite-react vite-vue sveltekit astro nextjs nuxt vite-react-pnpm vite-react-yarn-classic vite-react-yarn-berry express-localhost)

# Tools run non-interactively and send nothing home.
export CI=1 NEXT_TELEMETRY_DISABLED=1 ASTRO_TELEMETRY_DISABLED=1 NUXT_TELEMETRY_DISABLED=1
export YARN_ENABLE_TELEMETRY=0 npm_config_yes=true
# Corepack (to write `packageManager` as `corepack use` does, and install with that manager):
# its own cache, no prompt, and the registry npm uses. Node 20's Corepack cannot verify the
# signatures of current pnpm releases ("No compatible signature found"), so key checks are off;
# the hash it writes into packageManager is still the tarball's.
WORK=$(mktemp -d /tmp/artie-framework-fixtures.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export COREPACK_HOME="$WORK/corepack" COREPACK_ENABLE_DOWNLOAD_PROMPT=0 COREPACK_INTEGRITY_KEYS=0
COREPACK_NPM_REGISTRY=$(npm config get registry)
export COREPACK_NPM_REGISTRY="${COREPACK_NPM_REGISTRY%/}"

run() {
  echo "+ (in ${PWD/#$WORK/<tmp>}) $*"
  "$@"
}

# npm writes `resolved` URLs into the lockfile, as on any developer's machine, even where the
# machine's own npmrc turns that off.
npm_lock() {
  run npm install --package-lock-only --no-audit --no-fund --ignore-scripts --omit-lockfile-registry-resolved=false "$@"
}

create_vite() { # <dir> <template>
  run npx -y "create-vite@$CREATE_VITE_VERSION" "$1" --template "$2" --no-interactive --no-immediate
}

# --- the fixtures: each makes $WORK/<name> ------------------------------------------------------

make_vite-react() {
  create_vite vite-react react-ts
  (cd vite-react && npm_lock)
}

make_vite-vue() {
  create_vite vite-vue vue-ts
  (cd vite-vue && npm_lock)
}

make_sveltekit() {
  run npx -y "sv@$SV_VERSION" create sveltekit --template minimal --types ts --no-add-ons --no-install
  (cd sveltekit && npm_lock)
}

make_nextjs() {
  run npx -y "create-next-app@$CREATE_NEXT_APP_VERSION" nextjs --yes --ts --tailwind --eslint --app --no-src-dir \
    --import-alias '@/*' --use-npm --skip-install --disable-git --no-agent-feedback
  (cd nextjs && npm_lock)
}

# create-astro downloads its templates from GitHub ("Unable to connect to the internet" here):
# the `minimal` template's files, written out, and astro installed by npm for the lockfile.
make_astro() {
  mkdir -p astro/src/pages astro/public
  cat >astro/package.json <<'EOF'
{
  "name": "astro",
  "type": "module",
  "version": "0.0.1",
  "scripts": {
    "dev": "astro dev",
    "build": "astro build",
    "preview": "astro preview",
    "astro": "astro"
  }
}
EOF
  cat >astro/astro.config.mjs <<'EOF'
// @ts-check
import { defineConfig } from 'astro/config';

// https://astro.build/config
export default defineConfig({});
EOF
  cat >astro/tsconfig.json <<'EOF'
{
  "extends": "astro/tsconfigs/strict",
  "include": [".astro/types.d.ts", "**/*"],
  "exclude": ["dist"]
}
EOF
  cat >astro/src/pages/index.astro <<'EOF'
---

---

<html lang="en">
	<head>
		<meta charset="utf-8" />
		<link rel="icon" type="image/svg+xml" href="/favicon.svg" />
		<meta name="viewport" content="width=device-width" />
		<meta name="generator" content={Astro.generator} />
		<title>Astro</title>
	</head>
	<body>
		<h1>Astro</h1>
	</body>
</html>
EOF
  cat >astro/public/favicon.svg <<'EOF'
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 128 128"><path d="M50 98c-6-5-7-15-5-22 4 4 9 6 15 7 9 1 18 1 22-8 1 4 0 9-3 12-3 4-8 5-12 7-4 3-5 7-3 12-5 0-11-3-14-8Z"/><path d="M20 78s14-7 28-7l11-33c0-2 2-3 4-3s3 1 4 3l10 33c18 0 28 7 28 7L81 22c-1-4-3-6-6-6H53c-3 0-5 2-6 6L20 78Z"/></svg>
EOF
  cat >astro/.gitignore <<'EOF'
# build output
dist/

# generated types
.astro/

# dependencies
node_modules/

# logs
npm-debug.log*
yarn-debug.log*
yarn-error.log*
pnpm-debug.log*

# environment variables
.env
.env.production

# macOS-specific files
.DS_Store
EOF
  cat >astro/README.md <<EOF
# Astro (minimal template), made by hand

\`npm create astro@latest -- --template minimal\` downloads its template from GitHub, which the
machine that made this corpus cannot reach. These are that template's files (package.json
scripts, astro.config.mjs, strict tsconfig, one page, favicon, .gitignore) written out by
scripts/make-framework-fixtures.sh, with astro@^$ASTRO_VERSION added and locked by
\`npm install --package-lock-only\`. Astro $ASTRO_VERSION is the newest release that runs on Node 20.
EOF
  (cd astro && npm_lock "astro@^$ASTRO_VERSION")
}

# `npm create nuxt` (nuxi init) downloads the nuxt/starter template through giget from GitHub:
# the v4 starter's files, written out, and nuxt installed by npm for the lockfile.
make_nuxt() {
  mkdir -p nuxt/app nuxt/public
  cat >nuxt/package.json <<'EOF'
{
  "name": "nuxt-app",
  "type": "module",
  "private": true,
  "scripts": {
    "build": "nuxt build",
    "dev": "nuxt dev",
    "generate": "nuxt generate",
    "preview": "nuxt preview",
    "postinstall": "nuxt prepare"
  }
}
EOF
  cat >nuxt/nuxt.config.ts <<'EOF'
// https://nuxt.com/docs/api/configuration/nuxt-config
export default defineNuxtConfig({
  compatibilityDate: '2025-07-15',
  devtools: { enabled: true }
})
EOF
  cat >nuxt/app/app.vue <<'EOF'
<template>
  <div>
    <NuxtRouteAnnouncer />
    <NuxtWelcome />
  </div>
</template>
EOF
  cat >nuxt/tsconfig.json <<'EOF'
{
  // https://nuxt.com/docs/guide/concepts/typescript
  "files": [],
  "references": [
    { "path": "./.nuxt/tsconfig.app.json" },
    { "path": "./.nuxt/tsconfig.server.json" },
    { "path": "./.nuxt/tsconfig.shared.json" },
    { "path": "./.nuxt/tsconfig.node.json" }
  ]
}
EOF
  printf 'User-Agent: *\nDisallow:\n' >nuxt/public/robots.txt
  cat >nuxt/.gitignore <<'EOF'
# Nuxt dev/build outputs
.output
.data
.nuxt
.nitro
.cache
dist

# Node dependencies
node_modules

# Logs
logs
*.log

# Misc
.DS_Store
.fleet
.idea

# Local env files
.env
.env.*
!.env.example
EOF
  cat >nuxt/README.md <<EOF
# Nuxt (v4 starter), made by hand

\`npm create nuxt@latest\` (nuxi init) downloads the nuxt/starter template from GitHub through
giget, which the machine that made this corpus cannot reach. These are the v4 starter's files
(package.json scripts with \`postinstall: nuxt prepare\`, nuxt.config.ts, app/app.vue with
NuxtWelcome, tsconfig references, public/robots.txt, .gitignore; the favicon left out) written
out by scripts/make-framework-fixtures.sh, with nuxt@$NUXT_VERSION, vue@^3 and vue-router@^4 added and
locked by \`npm install --package-lock-only\`. Nuxt $NUXT_VERSION is the newest release that runs
on Node 20 (4.4.6 and later need Node 22), hence the exact pin.
EOF
  (cd nuxt && npm_lock --save-exact "nuxt@$NUXT_VERSION" && npm_lock "vue@^3" "vue-router@^4")
}

# The Vite React app with pnpm as `corepack use` pins it (packageManager with its hash) and the
# pnpm-lock.yaml that install writes; node_modules stays out (the template's .gitignore).
make_vite-react-pnpm() {
  create_vite vite-react-pnpm react-ts
  (cd vite-react-pnpm && run corepack use "pnpm@$PNPM_VERSION")
}

make_vite-react-yarn-classic() {
  create_vite vite-react-yarn-classic react-ts
  (cd vite-react-yarn-classic && run npm pkg set "devDependencies.vite=$VITE_FOR_YARN" &&
    run corepack use "yarn@$YARN_CLASSIC_VERSION")
}

# Yarn 4 with its defaults (Plug'n'Play, global cache); yarn's documented .gitignore lines for a
# repo without zero-installs keep .pnp.* and .yarn's install state out. CI=1 makes yarn 4 refuse
# to write a lockfile, which this first install must do.
make_vite-react-yarn-berry() {
  create_vite vite-react-yarn-berry react-ts
  (cd vite-react-yarn-berry && run npm pkg set "devDependencies.vite=$VITE_FOR_YARN" &&
    printf '\n# yarn (no zero-installs)\n.pnp.*\n.yarn/*\n!.yarn/patches\n!.yarn/plugins\n!.yarn/releases\n!.yarn/sdks\n!.yarn/versions\n' >>.gitignore &&
    YARN_ENABLE_IMMUTABLE_INSTALLS=false run corepack use "yarn@$YARN_BERRY_VERSION")
}

# A plain Express server that ignores PORT and binds only 127.0.0.1:8080, run by `node --watch`:
# what the agent's fallback (find the socket, forward the environment's port) is for.
make_express-localhost() {
  mkdir -p express-localhost
  cat >express-localhost/package.json <<'EOF'
{
  "name": "express-localhost",
  "version": "1.0.0",
  "private": true,
  "type": "module",
  "scripts": {
    "dev": "node --watch server.js"
  }
}
EOF
  cat >express-localhost/server.js <<'EOF'
import express from "express";

const app = express();

app.get("/", (_req, res) => {
  res.send("<!doctype html><title>Express</title><h1>Hello from Express on 127.0.0.1:8080</h1>");
});

app.listen(8080, "127.0.0.1", () => {
  console.log("listening on http://127.0.0.1:8080");
});
EOF
  printf 'node_modules\n' >express-localhost/.gitignore
  cat >express-localhost/README.md <<EOF
# Express on localhost only, made by hand

A minimal Express $EXPRESS_VERSION app whose dev server (\`node --watch server.js\`) ignores \`PORT\`
and listens on 127.0.0.1:8080 only, as many hand-written servers do. Written by
scripts/make-framework-fixtures.sh; express locked by \`npm install --package-lock-only\`.
EOF
  (cd express-localhost && npm_lock "express@^$EXPRESS_VERSION")
}

# --- driver ---------------------------------------------------------------------------------------

# Copies what git would commit of $WORK/<name> (its own .gitignore applies) into the fixture folder.
publish() {
  local name=$1 src="$WORK/$1" staged="$WORK/$1.staged"
  git -C "$src" init -q
  git -C "$src" add -A
  mkdir -p "$staged"
  git -C "$src" ls-files -z | tar -C "$src" --null -T - -cf - | tar -C "$staged" -xf -
  rm -rf "${OUT:?}/$name"
  mkdir -p "$OUT"
  mv "$staged" "$OUT/$name"
  echo "== $name: $(git -C "$src" ls-files | wc -l) files into ${OUT#"$ROOT"/}/$name"
}

names=("$@")
[ ${#names[@]} -eq 0 ] && names=("${ALL[@]}")
for name in "${names[@]}"; do
  declare -F "make_$name" >/dev/null || {
    echo "unknown fixture $name (known: ${ALL[*]})" >&2
    exit 1
  }
done
for name in "${names[@]}"; do
  echo "== $name"
  (cd "$WORK" && "make_$name")
  publish "$name"
done

# Hosts the lockfiles fetch from, for the reviewer: public registries only, never a mirror's.
echo "== hosts the fixtures' lockfiles fetch from"
(cd "$OUT" && grep -rhoE '(resolved|tarball)"?:? "?https?://[^/" ]+' . | sed -E 's#.*//##' | sort | uniq -c) ||
  echo "(none: the lockfiles name no URLs)"
