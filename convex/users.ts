/**
 * The one auth wrapper every public function uses. The signed-in user comes from `ctx.auth`
 * (any provider configured in auth.config.ts). Their id is `<issuer>|<user>`, where <user> is
 * the subject up to its first "|": Convex Auth's subject is "<userId>|<sessionId>", and a user
 * must own their environments across sessions; other providers' subjects have no "|".
 * Functions never take a user id as an argument.
 */
import { customAction, customCtx, customMutation, customQuery } from "convex-helpers/server/customFunctions";
import type { GenericQueryCtx } from "convex/server";
import { action, mutation, query } from "./_generated/server";
import type { DataModel } from "./_generated/dataModel";
import { fail } from "./errors";

async function requireUser(ctx: Pick<GenericQueryCtx<DataModel>, "auth">) {
  const identity = await ctx.auth.getUserIdentity();
  if (!identity) fail("unauthenticated", "Sign in first");
  return { userId: `${identity.issuer}|${identity.subject.split("|")[0]}` };
}

export const userQuery = customQuery(query, customCtx(requireUser));
export const userMutation = customMutation(mutation, customCtx(requireUser));
export const userAction = customAction(action, customCtx(requireUser));
