/**
 * Team (`/team`): the active team's members (roles, removing, leaving), and for its admins the
 * invite form (the link shown once), the pending invitations and the linked GitHub App
 * installations; making a new team. Switching teams is the sidebar's. A failing members query is
 * the shell's error state; the installations card fails on its own, leaving the rest usable.
 */
import { api } from "@convex/_generated/api";
import { useQuery } from "convex/react";
import { useState } from "react";
import { ErrorBoundary } from "react-error-boundary";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState, LoadingState } from "../../components/States";
import { canAdminister, useActiveTeam } from "../../hooks/useActiveTeam";
import { useNow } from "../../hooks/useNow";
import { errorMessage } from "../../lib/errors";
import { InstallationsCard } from "../../modules/team/InstallationsCard";
import { InvitationsList } from "../../modules/team/InvitationsList";
import { InviteForm } from "../../modules/team/InviteForm";
import { MembersTable } from "../../modules/team/MembersTable";
import { NewTeamForm } from "../../modules/team/NewTeamForm";

export function TeamPage() {
  const { active } = useActiveTeam();
  const members = useQuery(api.teams.members);
  const admin = active ? canAdminister(active.role) : false;
  // Only admins may list invitations; a member's page does not ask.
  const invitations = useQuery(api.invitations.list, admin ? {} : "skip");
  const [creating, setCreating] = useState(false);
  const now = useNow(30_000);

  const header = (
    <PageHeader
      title={active ? active.name : "Team"}
      subtitle={
        active
          ? `${active.personal ? "Your personal team. " : ""}Your role here: ${active.role}.`
          : "The people who share repositories, settings and environments."
      }
      actions={
        !creating && (
          <button className="btn" onClick={() => setCreating(true)}>
            New team
          </button>
        )
      }
    />
  );

  if (active === undefined || (active && members === undefined)) {
    return (
      <>
        {header}
        <LoadingState label="Loading the team" />
      </>
    );
  }
  return (
    <>
      {header}
      {creating && <NewTeamForm onDone={() => setCreating(false)} />}
      {active === null || members === undefined ? (
        <EmptyState title="No team yet">Your personal team is being made; this page fills in a moment.</EmptyState>
      ) : (
        <div className="team-layout">
          <div className="stack">
            <section aria-labelledby="members-heading" className="stack">
              <h2 id="members-heading">Members</h2>
              <MembersTable members={members} myRole={active.role} teamName={active.name} now={now} />
            </section>
            {!admin && <p className="muted">Only the team&apos;s owners and admins invite people and change roles.</p>}
          </div>
          <div className="stack">
            {admin && <InviteForm />}
            {admin && <InvitationsList invitations={invitations} now={now} />}
            <ErrorBoundary
              fallbackRender={({ error }) => (
                <section className="card" aria-label="GitHub App">
                  <h2>GitHub App</h2>
                  <p className="form-error" role="alert">
                    Could not load the linked installations: {errorMessage(error)}
                  </p>
                </section>
              )}
            >
              <InstallationsCard admin={admin} now={now} />
            </ErrorBoundary>
          </div>
        </div>
      )}
    </>
  );
}
