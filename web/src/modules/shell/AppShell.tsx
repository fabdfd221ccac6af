/**
 * The signed-in frame: a sidebar with the team switcher, the pages and the connection to the
 * control plane, and the
 * page itself inside an error boundary (a failing query shows an error state, not a blank page;
 * moving to another page resets it).
 */
import { useAuthActions } from "@convex-dev/auth/react";
import { useConvexConnectionState } from "convex/react";
import { ErrorBoundary } from "react-error-boundary";
import { NavLink, Outlet, useLocation } from "react-router";
import { Brand } from "../../components/Brand";
import { ErrorState } from "../../components/States";
import { TeamSwitcher } from "./TeamSwitcher";

const NAV = [
  { to: "/environments", label: "Environments", icon: "▣" },
  { to: "/repos", label: "Repositories", icon: "⌥" },
  { to: "/team", label: "Team", icon: "◈" },
  { to: "/pool", label: "Pool & host", icon: "◎" },
];

export function AppShell() {
  const location = useLocation();
  return (
    <div className="shell">
      <aside className="sidebar">
        <Brand />
        <TeamSwitcher />
        <nav className="nav" aria-label="Main">
          {NAV.map((item) => (
            <NavLink
              key={item.to}
              to={item.to}
              className={({ isActive }) => (isActive ? "nav-link active" : "nav-link")}
            >
              <span className="nav-icon" aria-hidden>
                {item.icon}
              </span>
              {item.label}
            </NavLink>
          ))}
        </nav>
        <div className="sidebar-footer">
          <ConnectionIndicator />
          <SignOutButton />
        </div>
      </aside>
      <main className="content">
        <ErrorBoundary FallbackComponent={ErrorState} resetKeys={[location.pathname]}>
          <Outlet />
        </ErrorBoundary>
      </main>
    </div>
  );
}

function ConnectionIndicator() {
  const state = useConvexConnectionState();
  const live = state.isWebSocketConnected;
  return (
    <div className={live ? "connection live" : "connection"} title={live ? "Live updates on" : "Reconnecting…"}>
      <span className="connection-dot" aria-hidden />
      {live ? "Live" : "Reconnecting…"}
    </div>
  );
}

function SignOutButton() {
  const { signOut } = useAuthActions();
  return (
    <button className="btn btn-ghost btn-small" onClick={() => void signOut()}>
      Sign out
    </button>
  );
}
