/** Shown when the bundle was built without a Convex URL: says exactly what to do. */
export function MissingDeployment() {
  return (
    <div className="signin">
      <div className="signin-card">
        <h1>No Convex deployment configured</h1>
        <p className="muted">The dashboard needs the URL of the control plane. Either:</p>
        <ul className="steps">
          <li>
            run <code>npx convex dev</code> at the repository root (it writes <code>VITE_CONVEX_URL</code> to{" "}
            <code>.env.local</code>), or
          </li>
          <li>
            set <code>CONVEX_SELF_HOSTED_URL</code> for a self-hosted backend,
          </li>
        </ul>
        <p className="muted">
          then start the dashboard again with <code>npm run dev</code> (or rebuild with <code>npm run build</code>).
        </p>
      </div>
    </div>
  );
}
