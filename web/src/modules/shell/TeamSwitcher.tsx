/**
 * The team every page works in: a select over teams.mine, switched server-side with
 * teams.switchTo (so every live query re-renders for the new team). A user who has no team
 * yet (a sign-in through a provider other than Convex Auth) gets their personal team made once.
 * Managing members and invitations is on its own page, not here.
 */
import { api } from "@convex/_generated/api";
import { useMutation } from "convex/react";
import { useEffect, useRef } from "react";
import { useActiveTeam } from "../../hooks/useActiveTeam";
import { usePendingAction } from "../../hooks/usePendingAction";
import { FormError } from "../../components/FormError";

export function TeamSwitcher() {
  const { teams, active } = useActiveTeam();
  const ensurePersonal = useMutation(api.teams.ensurePersonal);
  const { run, busy, error } = usePendingAction(useMutation(api.teams.switchTo));
  const asked = useRef(false);

  useEffect(() => {
    if (teams?.length === 0 && !asked.current) {
      asked.current = true;
      void ensurePersonal().catch(() => undefined);
    }
  }, [teams, ensurePersonal]);

  if (!teams || !active) return null;
  return (
    <div className="team-switcher">
      <label>
        <span className="muted">Team</span>
        <select
          value={active.teamId}
          disabled={busy}
          onChange={(e) => void run({ teamId: teams.find((t) => t.teamId === e.target.value)!.teamId })}
        >
          {teams.map((t) => (
            <option key={t.teamId} value={t.teamId}>
              {t.name} ({t.role})
            </option>
          ))}
        </select>
      </label>
      <FormError message={error} />
    </div>
  );
}
