/**
 * A repository's settings (`/repos/:owner/:name/settings`): the active team's repo by name, its
 * settings' public view (variables by name only) and the GitHub App's install state, in
 * RepoSettingsForm; saved through repoSettings.save. Members who are not team admins see the
 * form read-only. A repo of another team (or none) is "not found", as the control plane says.
 * A failing query is the shell's error state.
 */
import { api } from "@convex/_generated/api";
import { useAction, useQuery } from "convex/react";
import type { Id } from "@convex/_generated/dataModel";
import type { RepoSettingsInput } from "@convex/settingsRules";
import { useCallback, useEffect, useState } from "react";
import { Link, useParams } from "react-router";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState, LoadingState } from "../../components/States";
import { canAdminister, useActiveTeam } from "../../hooks/useActiveTeam";
import { errorMessage } from "../../lib/errors";
import type { FunctionReturnType } from "convex/server";

type InstallStateAnswer = FunctionReturnType<typeof api.github.installState>;
import { RepoSettingsForm } from "../../modules/repos/RepoSettingsForm";

export function RepoSettingsPage() {
  const { owner = "", name = "" } = useParams();
  const fullName = `${owner}/${name}`;
  const repo = useQuery(api.repos.byName, { owner, name });
  const settings = useQuery(api.repoSettings.get, repo ? { repoId: repo._id } : "skip");
  const { active } = useActiveTeam();
  const install = useInstallState(repo?._id);
  const save = useAction(api.repoSettings.save);
  const [savedVersion, setSavedVersion] = useState<number | null>(null);

  const repoId = repo?._id;
  // The version the form was loaded from: a save over someone else's newer one is refused
  // (`conflict`) instead of dropping the variables they added.
  const loadedVersion = settings?.version;
  const onSave = useCallback(
    async (input: RepoSettingsInput) => {
      if (!repoId) return;
      const { version } = await save({ repoId, input, version: loadedVersion });
      setSavedVersion(version);
    },
    [repoId, save, loadedVersion],
  );

  const header = (
    <>
      <div className="breadcrumbs">
        <Link to="/repos">Repositories</Link> / <span>{fullName}</span>
      </div>
      <PageHeader
        title={`Settings of ${fullName}`}
        subtitle="Saved settings apply to the next environment; running ones keep theirs."
      />
    </>
  );

  if (repo === null || settings === null) {
    return (
      <>
        {header}
        <EmptyState title="Repository not found" action={<Link to="/repos">Go to repositories</Link>}>
          The active team has no repository {fullName}. Switch teams, or add it on the Repositories page.
        </EmptyState>
      </>
    );
  }
  if (repo === undefined || settings === undefined || active === undefined) {
    return (
      <>
        {header}
        <LoadingState label="Loading settings" rows={5} />
      </>
    );
  }
  return (
    <>
      {header}
      {savedVersion !== null && savedVersion === settings.version && (
        <p className="saved settings-saved" role="status">
          Saved. Environments set up from now on get these settings.
        </p>
      )}
      {/* Keyed by the saved version: a save (here or elsewhere) starts the draft again from it. */}
      <RepoSettingsForm
        key={settings.version}
        repo={fullName}
        settings={settings}
        installState={install.state}
        installError={install.error}
        onSave={onSave}
        readOnly={!active || !canAdminister(active.role)}
      />
    </>
  );
}

/**
 * github.installState is an action (it asks GitHub), so not live: asked per repo and again when
 * the window regains focus (the install link opens GitHub in another tab; coming back from it
 * should show the new state).
 */
function useInstallState(repoId: Id<"repos"> | undefined) {
  const check = useAction(api.github.installState);
  const [answer, setAnswer] = useState<{
    repoId: Id<"repos">;
    state?: InstallStateAnswer;
    error?: string;
  } | null>(null);

  useEffect(() => {
    if (!repoId) return;
    let current = true;
    const ask = () => {
      check({ repoId }).then(
        (state) => current && setAnswer({ repoId, state }),
        (err: unknown) => current && setAnswer({ repoId, error: errorMessage(err) }),
      );
    };
    ask();
    window.addEventListener("focus", ask);
    return () => {
      current = false;
      window.removeEventListener("focus", ask);
    };
  }, [repoId, check]);

  // An answer for another repo (the page moved on) is not this one's.
  const mine = answer && answer.repoId === repoId ? answer : null;
  return { state: mine?.state, error: mine?.error ?? null };
}
