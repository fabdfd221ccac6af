/** Environments: the signed-in user's containers, live. */
import { api } from "@convex/_generated/api";
import { useQuery } from "convex/react";
import { useMemo, useState } from "react";
import { Link } from "react-router";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState, LoadingState } from "../../components/States";
import { EnvironmentsTable } from "../../modules/environments/EnvironmentsTable";

export function EnvironmentsPage() {
  const environments = useQuery(api.containers.list);
  const repos = useQuery(api.repos.list);
  const [showDestroyed, setShowDestroyed] = useState(false);
  const repoById = useMemo(() => new Map((repos ?? []).map((r) => [r._id, r])), [repos]);

  const header = (
    <PageHeader
      title="Environments"
      subtitle="Every environment you requested. Updates the moment the host reports."
      actions={
        <>
          <label className="toggle-inline">
            <input type="checkbox" checked={showDestroyed} onChange={(e) => setShowDestroyed(e.target.checked)} />
            Show destroyed
          </label>
          <Link to="/repos" className="btn btn-primary">
            Request environment
          </Link>
        </>
      }
    />
  );
  if (environments === undefined || repos === undefined) {
    return (
      <>
        {header}
        <LoadingState label="Loading environments" />
      </>
    );
  }
  const visible = showDestroyed ? environments : environments.filter((e) => e.status !== "destroyed");
  return (
    <>
      {header}
      {visible.length === 0 ? (
        <EmptyState
          title="No environments yet"
          action={
            <Link to="/repos" className="btn btn-primary">
              Choose a repository
            </Link>
          }
        >
          Switch a repository to the Docker runtime and request an environment for a branch.
        </EmptyState>
      ) : (
        <EnvironmentsTable environments={visible} repos={repoById} />
      )}
    </>
  );
}
