/**
 * Whether the GitHub App can give this repo's setups a token, in words a person can act on, with
 * the install link when there is something to do. It only shows the state it is given.
 */
export type InstallState = {
  state: "not_configured" | "installed_linked" | "installed_not_linked" | "not_installed";
  installUrl?: string;
};

const TEXT: Record<InstallState["state"], { badge: string; tone: string; text: (repo: string) => string }> = {
  installed_linked: {
    badge: "Installed",
    tone: "badge-success",
    text: (repo) => `The GitHub App is installed on ${repo} and linked to this team: private clones work.`,
  },
  installed_not_linked: {
    badge: "Not linked",
    tone: "badge-warning",
    text: (repo) =>
      `The GitHub App is installed on ${repo}, but that installation is not linked to this team. ` +
      "Open the install page as someone who can access it to link it.",
  },
  not_installed: {
    badge: "Not installed",
    tone: "badge-warning",
    text: (repo) =>
      `The GitHub App is not installed on ${repo}. Public repositories clone without it; ` +
      "a private one needs it: install the GitHub App on it.",
  },
  not_configured: {
    badge: "Not configured",
    tone: "badge-muted",
    text: () =>
      "This deployment has no GitHub App (GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY are not set): " +
      "public repositories clone anonymously, private ones cannot be used.",
  },
};

type Props = {
  repo: string;
  installState: InstallState | undefined;
  /** Why the state could not be checked (shown instead of it). */
  error?: string | null;
};

export function InstallStateNote({ repo, installState, error }: Props) {
  return (
    <section className="install-state" aria-label="GitHub App">
      <h3>GitHub App</h3>
      {error ? (
        <p className="form-error" role="alert">
          Could not check the GitHub App: {error}
        </p>
      ) : installState === undefined ? (
        <p className="muted" role="status">
          Checking the GitHub App…
        </p>
      ) : (
        <>
          <span className={`badge ${TEXT[installState.state].tone}`}>{TEXT[installState.state].badge}</span>
          <p>{TEXT[installState.state].text(repo)}</p>
          {installState.installUrl && installState.state !== "installed_linked" && (
            <a className="btn btn-small" href={installState.installUrl} target="_blank" rel="noreferrer">
              {installState.state === "installed_not_linked" ? "Link the GitHub App" : "Install the GitHub App"}
            </a>
          )}
        </>
      )}
    </section>
  );
}
