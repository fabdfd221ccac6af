/** The host port and, once the dev server answers, a link to it. */
import type { Doc } from "@convex/_generated/dataModel";

export function DevServerLink({ env }: { env: Doc<"containers"> }) {
  if (env.hostPort === undefined) return <span className="muted">—</span>;
  return (
    <span className="port">
      <span className="mono">:{env.hostPort}</span>
      {env.url && env.status === "ready" && (
        <a href={env.url} target="_blank" rel="noreferrer" className="external" onClick={(e) => e.stopPropagation()}>
          Open ↗
        </a>
      )}
    </span>
  );
}
