/**
 * The one auth wrapper every public function uses. The signed-in user comes from `ctx.auth`
 * (any provider configured in auth.config.ts); their id is the identity's tokenIdentifier,
 * which is unique across providers. Functions never take a user id as an argument.
 */
import { customCtx, customMutation, customQuery } from "convex-helpers/server/customFunctions";
import type { GenericQueryCtx } from "convex/server";
import { mutation, query } from "./_generated/server";
import type { DataModel } from "./_generated/dataModel";
import { fail } from "./errors";

async function requireUser(ctx: Pick<GenericQueryCtx<DataModel>, "auth">) {
  const identity = await ctx.auth.getUserIdentity();
  if (!identity) fail("unauthenticated", "Sign in first");
  return { userId: identity.tokenIdentifier };
}

export const userQuery = customQuery(query, customCtx(requireUser));
export const userMutation = customMutation(mutation, customCtx(requireUser));
