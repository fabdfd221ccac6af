/** Signed out: the sign-in page. Signed in: the shell and its pages. */
import { useConvexAuth } from "convex/react";
import { Navigate, Route, Routes } from "react-router";
import { FullPageLoading } from "./components/States";
import { AppShell } from "./modules/shell/AppShell";
import { EnvironmentPage } from "./pages/EnvironmentPage/EnvironmentPage";
import { EnvironmentsPage } from "./pages/EnvironmentsPage/EnvironmentsPage";
import { NotFoundPage } from "./pages/NotFoundPage/NotFoundPage";
import { PoolPage } from "./pages/PoolPage/PoolPage";
import { ReposPage } from "./pages/ReposPage/ReposPage";
import { SignInPage } from "./pages/SignInPage/SignInPage";

export function App() {
  const { isLoading, isAuthenticated } = useConvexAuth();
  if (isLoading) return <FullPageLoading />;
  if (!isAuthenticated) return <SignInPage />;
  return (
    <Routes>
      <Route element={<AppShell />}>
        <Route index element={<Navigate to="/environments" replace />} />
        <Route path="environments" element={<EnvironmentsPage />} />
        <Route path="environments/:id" element={<EnvironmentPage />} />
        <Route path="repos" element={<ReposPage />} />
        <Route path="pool" element={<PoolPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
