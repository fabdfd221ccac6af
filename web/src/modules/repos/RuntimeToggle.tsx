/** A repo's runtime as a two-way switch; only `docker` repos get containers from this system. */
import { api } from "@convex/_generated/api";
import type { Doc } from "@convex/_generated/dataModel";
import { useMutation } from "convex/react";
import { useState } from "react";
import { FormError } from "../../components/FormError";
import { usePendingAction } from "../../hooks/usePendingAction";
import { repoFullName } from "../../lib/repos";

type Runtime = Doc<"repos">["runtime"];
const RUNTIMES: { value: Runtime; label: string }[] = [
  { value: "docker", label: "Docker" },
  { value: "firecracker", label: "Firecracker" },
];

/** `readOnly` for members: the runtime is a setting only team admins change (the server agrees). */
export function RuntimeToggle({ repo, readOnly = false }: { repo: Doc<"repos">; readOnly?: boolean }) {
  const setRuntime = useMutation(api.repos.setRuntime);
  const { run, busy, error } = usePendingAction(setRuntime);
  // Shown as chosen while the mutation runs; the query has the truth once it lands.
  const [pending, setPending] = useState<Runtime | null>(null);

  const choose = async (runtime: Runtime) => {
    if (runtime === repo.runtime || busy) return;
    setPending(runtime);
    await run({ owner: repo.owner, name: repo.name, runtime });
    setPending(null);
  };

  const shown = pending ?? repo.runtime;
  return (
    <div>
      <div className="segmented" role="radiogroup" aria-label={`Runtime of ${repoFullName(repo)}`}>
        {RUNTIMES.map((r) => (
          <button
            key={r.value}
            role="radio"
            aria-checked={shown === r.value}
            className={shown === r.value ? "segment active" : "segment"}
            onClick={() => void choose(r.value)}
            disabled={busy || readOnly}
            title={readOnly ? "Only a team admin changes the runtime" : undefined}
          >
            {r.label}
          </button>
        ))}
      </div>
      <FormError message={error} small />
    </div>
  );
}
