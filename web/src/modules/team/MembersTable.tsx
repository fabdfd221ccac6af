/**
 * The active team's members: email, role, when they joined, and "you". Team admins change roles
 * and remove members, each behind a dialog that names what will happen; anyone may leave. What a
 * role may do to whom is the control plane's rule (teams.setRole / removeMember); the table only
 * leaves out the controls a caller could not use (an admin cannot touch an owner), and shows the
 * server's refusal (the last owner) in the dialog.
 */
import { api } from "@convex/_generated/api";
import type { FunctionReturnType } from "convex/server";
import { useMutation } from "convex/react";
import { useState } from "react";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { canAdminister, type Role } from "../../hooks/useActiveTeam";
import { formatAgo } from "../../lib/format";

export type Member = FunctionReturnType<typeof api.teams.members>[number];

const ROLE_LABEL: Record<Role, string> = { owner: "Owner", admin: "Admin", member: "Member" };
/** What each role may do, for the dialog that changes one. */
const ROLE_MEANS: Record<Role, string> = {
  owner: "Owners do everything admins do, and make or remove owners.",
  admin: "Admins change repository settings, link the GitHub App, invite people and manage members.",
  member: "Members request and use environments of the team's repositories.",
};

type Pending = { kind: "role"; member: Member; role: Role } | { kind: "remove"; member: Member } | null;

const who = (m: Member) => m.email ?? "this member";

export function MembersTable({
  members,
  myRole,
  teamName,
  now,
}: {
  members: Member[];
  myRole: Role;
  teamName: string;
  now: number;
}) {
  const setRole = useMutation(api.teams.setRole);
  const removeMember = useMutation(api.teams.removeMember);
  const [pending, setPending] = useState<Pending>(null);
  const roles: Role[] = myRole === "owner" ? ["owner", "admin", "member"] : ["admin", "member"];
  const manages = (m: Member) => canAdminister(myRole) && (m.role !== "owner" || myRole === "owner");

  return (
    <div className="table-wrap">
      <table className="table" aria-label="Members">
        <thead>
          <tr>
            <th>Member</th>
            <th>Role</th>
            <th>Joined</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {members.map((m) => (
            <tr key={m.membershipId} data-testid={`member-${m.membershipId}`}>
              <td>
                <span className="strong">{m.email ?? "(no email)"}</span>
                {m.you && <span className="chip member-you">you</span>}
              </td>
              <td>
                {manages(m) ? (
                  <select
                    aria-label={`Role of ${who(m)}`}
                    value={m.role}
                    onChange={(e) => {
                      const role = roles.find((r) => r === e.target.value);
                      if (role && role !== m.role) setPending({ kind: "role", member: m, role });
                    }}
                  >
                    {roles.map((r) => (
                      <option key={r} value={r}>
                        {ROLE_LABEL[r]}
                      </option>
                    ))}
                  </select>
                ) : (
                  ROLE_LABEL[m.role]
                )}
              </td>
              <td className="muted nowrap">{formatAgo(m.joinedAt, now)}</td>
              <td className="cell-actions">
                {(m.you || manages(m)) && (
                  <button
                    className="btn btn-small btn-danger"
                    aria-label={m.you ? `Leave ${teamName}` : `Remove ${who(m)}`}
                    onClick={() => setPending({ kind: "remove", member: m })}
                  >
                    {m.you ? "Leave" : "Remove"}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ConfirmDialog
        open={pending?.kind === "role"}
        title={pending?.kind === "role" ? `Make ${who(pending.member)} ${article(pending.role)}?` : ""}
        confirmLabel="Change role"
        onConfirm={() =>
          pending?.kind === "role"
            ? setRole({ membershipId: pending.member.membershipId, role: pending.role })
            : Promise.resolve()
        }
        onClose={() => setPending(null)}
      >
        {pending?.kind === "role" && <p>{ROLE_MEANS[pending.role]}</p>}
      </ConfirmDialog>
      <ConfirmDialog
        open={pending?.kind === "remove"}
        title={
          pending?.kind === "remove"
            ? pending.member.you
              ? `Leave ${teamName}?`
              : `Remove ${who(pending.member)} from ${teamName}?`
            : ""
        }
        confirmLabel={pending?.kind === "remove" && pending.member.you ? "Leave team" : "Remove member"}
        tone="danger"
        onConfirm={() =>
          pending?.kind === "remove" ? removeMember({ membershipId: pending.member.membershipId }) : Promise.resolve()
        }
        onClose={() => setPending(null)}
      >
        <p>
          {pending?.kind === "remove" && pending.member.you ? "You lose" : "They lose"} access to the team&apos;s
          repositories, settings and environments at once. Coming back takes a new invitation.
        </p>
      </ConfirmDialog>
    </div>
  );
}

const article = (role: Role) => (role === "admin" ? "an admin" : role === "owner" ? "an owner" : "a member");
