/**
 * Where the GitHub App's setup redirect lands (`/github/setup?installation_id&setup_action&code
 * &state`): github.completeInstall exchanges the one-time `code` (GitHub's proof that this user
 * can access the installation) and links the installation to the team the `state` was made for.
 * Called once per visit (the code works once), and the query is dropped from the address right
 * away so a reload or the history never offers the code again. What is missing from the redirect
 * is said in words that lead to the fix. Left out: making the install link (installState does).
 */
import { api } from "@convex/_generated/api";
import { useAction } from "convex/react";
import { useEffect, useRef, useState } from "react";
import { Link, useLocation, useNavigate } from "react-router";
import { FormError } from "../../components/FormError";
import { PageHeader } from "../../components/PageHeader";
import { errorMessage } from "../../lib/errors";

type Redirect =
  | { kind: "complete"; installationId: number; code: string; state: string }
  | { kind: "requested" }
  | { kind: "invalid"; problem: string };

export const MISSING_CODE =
  "GitHub sent no authorization code with this installation. Enable “Request user authorization (OAuth) " +
  "during installation” in the App's settings on GitHub, then install it again.";

/** What GitHub's redirect asks for, or what is missing from it. */
export function readRedirect(search: URLSearchParams): Redirect {
  // An installation that needs an owner's approval comes back with no installation yet.
  if (search.get("setup_action") === "request") return { kind: "requested" };
  const id = search.get("installation_id") ?? "";
  if (!/^\d{1,20}$/.test(id))
    return {
      kind: "invalid",
      problem:
        "This address carries no GitHub App installation. It is where GitHub sends you after installing " +
        "the App; start from a repository's settings page.",
    };
  const code = search.get("code");
  if (!code) return { kind: "invalid", problem: MISSING_CODE };
  const state = search.get("state");
  if (!state)
    return {
      kind: "invalid",
      problem:
        "GitHub's redirect has no state, so it cannot be tied to your team. Start the installation from " +
        "“Install the GitHub App” on a repository's settings page here.",
    };
  return { kind: "complete", installationId: Number(id), code, state };
}

type Outcome = { phase: "linking" } | { phase: "linked"; accountLogin: string } | { phase: "failed"; error: string };

export function GitHubSetupPage() {
  const location = useLocation();
  const navigate = useNavigate();
  // Read once: the address is cleared below, and the answer must not change with it.
  const [redirect] = useState(() => readRedirect(new URLSearchParams(location.search)));
  const complete = useAction(api.github.completeInstall);
  const [outcome, setOutcome] = useState<Outcome>({ phase: "linking" });
  const started = useRef(false);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    if (location.search) void navigate(location.pathname, { replace: true });
    if (redirect.kind !== "complete") return;
    const { installationId, code, state } = redirect;
    complete({ installationId, code, state }).then(
      ({ accountLogin }) => setOutcome({ phase: "linked", accountLogin }),
      (err: unknown) => setOutcome({ phase: "failed", error: errorMessage(err) }),
    );
  }, [redirect, complete, navigate, location.pathname, location.search]);

  return (
    <>
      <PageHeader title="GitHub App" subtitle="Linking a GitHub App installation to your team." />
      <section className="card setup-card" aria-label="GitHub App installation">
        <SetupBody redirect={redirect} outcome={outcome} />
        <div className="form-actions">
          <Link to="/team" className="btn">
            Team
          </Link>
          <Link to="/repos" className="btn btn-primary">
            Go to repositories
          </Link>
        </div>
      </section>
    </>
  );
}

function SetupBody({ redirect, outcome }: { redirect: Redirect; outcome: Outcome }) {
  if (redirect.kind === "invalid") return <FormError message={redirect.problem} />;
  if (redirect.kind === "requested")
    return (
      <p role="status">
        The installation was requested. Once an owner of the GitHub account approves it, GitHub sends them here to link
        it; or install it again from a repository&apos;s settings page after the approval.
      </p>
    );
  switch (outcome.phase) {
    case "linking":
      return (
        <p className="muted" role="status">
          Linking the installation…
        </p>
      );
    case "linked":
      return (
        <p role="status">
          <span className="badge badge-success">Linked</span> The GitHub App installation on{" "}
          <strong>{outcome.accountLogin}</strong> is linked to your team: its private repositories can be cloned by your
          team&apos;s environments.
        </p>
      );
    case "failed":
      return <FormError message={`Could not link the installation: ${outcome.error}`} />;
  }
}
