/** Shown when the bundle was built without a Convex URL: says exactly what to do. */
export function MissingDeployment() {
  return (
    <div className="signin">
      <div className="signin-card">
        <h1>No Convex deployment configured</h1>
        <p className="muted">
          The dashboard needs the control plane&apos;s URL. <code>npm run dev</code> makes a local deployment when the
          Convex backend can be downloaded; where it cannot, either:
        </p>
        <ul className="steps">
          <li>
            sign in to Convex: run <code>npx convex dev</code> once at the repository root and choose a cloud dev
            deployment (it writes <code>.env.local</code>), or
          </li>
          <li>
            use a self-hosted backend: set <code>CONVEX_SELF_HOSTED_URL</code> and{" "}
            <code>CONVEX_SELF_HOSTED_ADMIN_KEY</code> in <code>.env.local</code>,
          </li>
        </ul>
        <p className="muted">
          then run <code>npm run dev</code> again (it gives the deployment the settings it needs), or rebuild with{" "}
          <code>npm run build</code>.
        </p>
      </div>
    </div>
  );
}
