/**
 * The app's declared environment, typed in functions through `env` from _generated/server, and
 * the components it uses (the rate limiter). Every variable is optional here so a deployment without a Docker host still deploys; the actions and the
 * callback route say clearly which variable is missing when one is needed.
 */
import rateLimiter from "@convex-dev/rate-limiter/convex.config.js";
import { defineApp } from "convex/server";
import { v } from "convex/values";

const app = defineApp({
  env: {
    /** The host agent's base URL, e.g. http://docker-host:8080 */
    DOCKER_HOST_URL: v.optional(v.string()),
    /** The agent's API_SECRET. */
    DOCKER_API_SECRET: v.optional(v.string()),
    /** Key for the agent's signed setup callbacks (sent to it with each setup). */
    DOCKER_CALLBACK_SECRET: v.optional(v.string()),
    /** The agent's STREAM_TOKEN_KEY: signs the browser's short-lived logs/terminal tokens. */
    DOCKER_STREAM_TOKEN_KEY: v.optional(v.string()),
    /** The agent's URL as browsers reach it, when it differs from DOCKER_HOST_URL. */
    DOCKER_PUBLIC_URL: v.optional(v.string()),
    /** 32 bytes, base64 or hex (openssl rand -base64 32): encrypts repo settings' secret values. */
    SETTINGS_ENCRYPTION_KEY: v.optional(v.string()),
    /** The GitHub App (private repos, installation linking); see convex/githubApp.ts. */
    GITHUB_APP_ID: v.optional(v.string()),
    GITHUB_APP_PRIVATE_KEY: v.optional(v.string()),
    GITHUB_APP_CLIENT_ID: v.optional(v.string()),
    GITHUB_APP_CLIENT_SECRET: v.optional(v.string()),
    GITHUB_APP_SLUG: v.optional(v.string()),
    /** GitHub's API and web origins; defaults https://api.github.com and https://github.com. */
    GITHUB_API_URL: v.optional(v.string()),
    GITHUB_URL: v.optional(v.string()),
    /** Comma-separated emails of host admins: they change the pool config and see host health. */
    ADMIN_EMAILS: v.optional(v.string()),
    /** Live environments per user (default MAX_ENVIRONMENTS_PER_USER_DEFAULT in limits.ts). */
    MAX_ENVIRONMENTS_PER_USER: v.optional(v.string()),
  },
});

/** Per-user request rate limits (see limits.ts REQUEST_RATE). */
app.use(rateLimiter);

export default app;
