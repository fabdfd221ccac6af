/**
 * Making a new team (teams.create): its name, then it is the active team with the caller as its
 * owner. The name's rules are the control plane's; its refusal is shown here.
 */
import { api } from "@convex/_generated/api";
import { TEAM_NAME_MAX } from "@convex/limits";
import { useMutation } from "convex/react";
import { useState, type FormEvent } from "react";
import { FormError } from "../../components/FormError";
import { usePendingAction } from "../../hooks/usePendingAction";

export function NewTeamForm({ onDone }: { onDone: () => void }) {
  const create = useMutation(api.teams.create);
  const [name, setName] = useState("");
  const { run, busy, error } = usePendingAction(create);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await run({ name: name.trim() })) onDone();
  };

  return (
    <form className="card form new-team" onSubmit={(e) => void submit(e)} aria-label="New team">
      <div className="form-row">
        <label className="field grow">
          <span>Team name</span>
          <input
            name="name"
            required
            maxLength={TEAM_NAME_MAX}
            placeholder="Platform"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoFocus
          />
        </label>
        <button className="btn" type="button" onClick={onDone} disabled={busy}>
          Cancel
        </button>
        <button className="btn btn-primary" type="submit" disabled={busy || name.trim() === ""}>
          {busy ? "Creating…" : "Create team"}
        </button>
      </div>
      <p className="hint">You become its owner, and it becomes your active team.</p>
      <FormError message={error} />
    </form>
  );
}
