/**
 * The team every team-scoped function works in, from teams.mine: the one marked active, or
 * (as the control plane does) the first when none is. Undefined while loading, null for a user
 * with no team yet. Also whether the caller may administer it (settings, invitations, roles);
 * the control plane checks the same on every call, this only decides what the page offers.
 */
import { api } from "@convex/_generated/api";
import type { FunctionReturnType } from "convex/server";
import { useQuery } from "convex/react";

export type MyTeam = FunctionReturnType<typeof api.teams.mine>[number];
export type Role = MyTeam["role"];

/** Owners and admins administer a team; members use it. */
export const canAdminister = (role: Role) => role !== "member";

export function activeTeamOf(teams: MyTeam[]): MyTeam | null {
  return teams.find((t) => t.active) ?? teams[0] ?? null;
}

export function useActiveTeam(): { teams: MyTeam[] | undefined; active: MyTeam | null | undefined } {
  const teams = useQuery(api.teams.mine);
  return { teams, active: teams === undefined ? undefined : activeTeamOf(teams) };
}
