/* eslint-disable */
/**
 * Generated `api` utility.
 *
 * THIS CODE IS AUTOMATICALLY GENERATED.
 *
 * To regenerate, run `npx convex dev`.
 * @module
 */

import type {
  ApiFromModules,
  FilterApi,
  FunctionReference,
} from "convex/server";
import type * as access from "../access.js";
import type * as account from "../account.js";
import type * as activity from "../activity.js";
import type * as agentEnv from "../agentEnv.js";
import type * as auth from "../auth.js";
import type * as callbacks from "../callbacks.js";
import type * as containers from "../containers.js";
import type * as crons from "../crons.js";
import type * as crypto from "../crypto.js";
import type * as errors from "../errors.js";
import type * as github from "../github.js";
import type * as githubApp from "../githubApp.js";
import type * as githubAppJwt from "../githubAppJwt.js";
import type * as githubLink from "../githubLink.js";
import type * as hostAgent from "../hostAgent.js";
import type * as hostHealth from "../hostHealth.js";
import type * as hostReports from "../hostReports.js";
import type * as http from "../http.js";
import type * as idle from "../idle.js";
import type * as invitations from "../invitations.js";
import type * as limits from "../limits.js";
import type * as maintenance from "../maintenance.js";
import type * as membership from "../membership.js";
import type * as pool from "../pool.js";
import type * as poolRules from "../poolRules.js";
import type * as quotas from "../quotas.js";
import type * as records from "../records.js";
import type * as repoSettings from "../repoSettings.js";
import type * as repos from "../repos.js";
import type * as settingsRules from "../settingsRules.js";
import type * as settingsView from "../settingsView.js";
import type * as statuses from "../statuses.js";
import type * as streams from "../streams.js";
import type * as teams from "../teams.js";
import type * as users from "../users.js";
import type * as walk from "../walk.js";
import type * as webhooks from "../webhooks.js";

/**
 * A utility for referencing Convex functions in your app's API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = api.myModule.myFunction;
 * ```
 */
declare const fullApi: ApiFromModules<{
  access: typeof access;
  account: typeof account;
  activity: typeof activity;
  agentEnv: typeof agentEnv;
  auth: typeof auth;
  callbacks: typeof callbacks;
  containers: typeof containers;
  crons: typeof crons;
  crypto: typeof crypto;
  errors: typeof errors;
  github: typeof github;
  githubApp: typeof githubApp;
  githubAppJwt: typeof githubAppJwt;
  githubLink: typeof githubLink;
  hostAgent: typeof hostAgent;
  hostHealth: typeof hostHealth;
  hostReports: typeof hostReports;
  http: typeof http;
  idle: typeof idle;
  invitations: typeof invitations;
  limits: typeof limits;
  maintenance: typeof maintenance;
  membership: typeof membership;
  pool: typeof pool;
  poolRules: typeof poolRules;
  quotas: typeof quotas;
  records: typeof records;
  repoSettings: typeof repoSettings;
  repos: typeof repos;
  settingsRules: typeof settingsRules;
  settingsView: typeof settingsView;
  statuses: typeof statuses;
  streams: typeof streams;
  teams: typeof teams;
  users: typeof users;
  walk: typeof walk;
  webhooks: typeof webhooks;
}>;
export declare const api: FilterApi<
  typeof fullApi,
  FunctionReference<any, "public">
>;
export declare const internal: FilterApi<
  typeof fullApi,
  FunctionReference<any, "internal">
>;
