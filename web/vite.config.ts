/**
 * The dashboard's build. `@convex` points at the control plane's folder so pages import the
 * generated `api` and the shared status list from where they are defined. The Convex URL comes
 * from the repo root's `.env.local` (written by `npx convex dev`): `VITE_CONVEX_URL`,
 * `CONVEX_URL` or, for a self-hosted backend, `CONVEX_SELF_HOSTED_URL`. Only those names are
 * exposed to the bundle; nothing else in those files (API secrets, admin keys) is.
 */
import path from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export const webRoot = import.meta.dirname;

export default defineConfig({
  root: webRoot,
  plugins: [react()],
  resolve: { alias: { "@convex": path.resolve(webRoot, "../convex") } },
  envDir: path.resolve(webRoot, ".."),
  envPrefix: ["VITE_", "CONVEX_URL", "CONVEX_SELF_HOSTED_URL"],
  server: { host: "127.0.0.1", port: 5173 },
  preview: { host: "127.0.0.1", port: 4173 },
  // React, the Convex client and zod (the agent contract) make ~510 kB; xterm.js loads lazily.
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 600 },
});
