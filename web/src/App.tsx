/**
 * Signed out: the sign-in page, at whatever address was opened (the address is kept, so an
 * invite link or a GitHub setup redirect opened signed out is where a sign-in lands).
 * Signed in: the shell and its pages.
 */
import { useConvexAuth } from "convex/react";
import { Navigate, Route, Routes, useMatch } from "react-router";
import { FullPageLoading } from "./components/States";
import { AppShell } from "./modules/shell/AppShell";
import { EnvironmentPage } from "./pages/EnvironmentPage/EnvironmentPage";
import { EnvironmentsPage } from "./pages/EnvironmentsPage/EnvironmentsPage";
import { AcceptInvitePage } from "./pages/AcceptInvitePage/AcceptInvitePage";
import { GitHubSetupPage } from "./pages/GitHubSetupPage/GitHubSetupPage";
import { NotFoundPage } from "./pages/NotFoundPage/NotFoundPage";
import { PoolPage } from "./pages/PoolPage/PoolPage";
import { RepoSettingsPage } from "./pages/RepoSettingsPage/RepoSettingsPage";
import { ReposPage } from "./pages/ReposPage/ReposPage";
import { SignInPage } from "./pages/SignInPage/SignInPage";
import { TeamPage } from "./pages/TeamPage/TeamPage";

export function App() {
  const { isLoading, isAuthenticated } = useConvexAuth();
  const invite = useMatch("/invite/:token");
  const githubSetup = useMatch("/github/setup");
  if (isLoading) return <FullPageLoading />;
  if (!isAuthenticated) {
    const notice = invite
      ? "Sign in or create an account to accept your invitation."
      : githubSetup
        ? "Sign in to finish linking the GitHub App to your team."
        : undefined;
    return <SignInPage notice={notice} />;
  }
  return (
    <Routes>
      <Route element={<AppShell />}>
        <Route index element={<Navigate to="/environments" replace />} />
        <Route path="environments" element={<EnvironmentsPage />} />
        <Route path="environments/:id" element={<EnvironmentPage />} />
        <Route path="repos" element={<ReposPage />} />
        <Route path="repos/:owner/:name/settings" element={<RepoSettingsPage />} />
        <Route path="team" element={<TeamPage />} />
        <Route path="invite/:token" element={<AcceptInvitePage />} />
        <Route path="github/setup" element={<GitHubSetupPage />} />
        <Route path="pool" element={<PoolPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
