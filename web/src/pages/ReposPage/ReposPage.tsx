/**
 * Repositories: runtime toggle, main image state, requesting an environment for a branch, and
 * the way to each repo's settings.
 */
import { api } from "@convex/_generated/api";
import { useQuery } from "convex/react";
import { useState } from "react";
import { Link } from "react-router";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState, LoadingState } from "../../components/States";
import { canAdminister, useActiveTeam } from "../../hooks/useActiveTeam";
import { useNow } from "../../hooks/useNow";
import { repoFullName, repoSettingsPath } from "../../lib/repos";
import { AddRepoForm } from "../../modules/repos/AddRepoForm";
import { MainImageState } from "../../modules/repos/MainImageState";
import { RequestEnvironmentForm } from "../../modules/repos/RequestEnvironmentForm";
import { RuntimeToggle } from "../../modules/repos/RuntimeToggle";

export function ReposPage() {
  const repos = useQuery(api.repos.list);
  const { active } = useActiveTeam();
  const [adding, setAdding] = useState(false);
  const now = useNow(30_000);

  return (
    <>
      <PageHeader
        title="Repositories"
        subtitle="Repositories on the Docker runtime get their environments from this host."
        actions={
          !adding && (
            <button className="btn btn-primary" onClick={() => setAdding(true)}>
              Add repository
            </button>
          )
        }
      />
      {adding && <AddRepoForm onDone={() => setAdding(false)} />}
      {repos === undefined ? (
        <LoadingState label="Loading repositories" />
      ) : repos.length === 0 ? (
        !adding && (
          <EmptyState
            title="No repositories yet"
            action={
              <button className="btn btn-primary" onClick={() => setAdding(true)}>
                Add repository
              </button>
            }
          >
            Add a repository to give it development environments on Docker.
          </EmptyState>
        )
      ) : (
        <div className="repo-list">
          {repos.map((repo) => (
            <section key={repo._id} className="card repo-card" aria-label={repoFullName(repo)}>
              <div className="repo-head">
                <div>
                  <h2 className="repo-name">
                    <span className="muted">{repo.owner}/</span>
                    {repo.name}
                  </h2>
                  <div className="repo-meta">
                    default branch <span className="mono">{repo.defaultBranch}</span>
                  </div>
                </div>
                <div className="repo-actions">
                  <RuntimeToggle repo={repo} readOnly={active ? !canAdminister(active.role) : true} />
                  <Link
                    className="btn btn-small"
                    to={repoSettingsPath(repo)}
                    aria-label={`Settings of ${repoFullName(repo)}`}
                  >
                    Settings
                  </Link>
                </div>
              </div>
              <div className="repo-grid">
                <div>
                  <div className="label">Main image</div>
                  <MainImageState repo={repo} now={now} />
                </div>
                <div>
                  <div className="label">New environment</div>
                  <RequestEnvironmentForm repo={repo} />
                </div>
              </div>
            </section>
          ))}
        </div>
      )}
    </>
  );
}
