/** The dev server's health as the host last checked it (answering / not answering), for a ready environment. */
import type { Doc } from "@convex/_generated/dataModel";
import { HEALTH_LOOK, showsHealth } from "../../lib/devServer";

export function HealthBadge({ env }: { env: Pick<Doc<"containers">, "status" | "health"> }) {
  if (!showsHealth(env)) return null;
  const look = HEALTH_LOOK[env.health];
  return (
    <span className={`badge badge-${look.tone}`} data-health={env.health} title={look.title}>
      <span className="badge-dot" aria-hidden />
      Dev server {look.label.toLowerCase()}
    </span>
  );
}
