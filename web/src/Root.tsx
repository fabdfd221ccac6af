/**
 * Providers around the app: Convex (live queries) with Convex Auth, and the browser router.
 * Tests and the browser-test harness pass their own client (a fake) through the same door.
 */
import { ConvexAuthProvider } from "@convex-dev/auth/react";
import type { ConvexReactClient } from "convex/react";
import { StrictMode } from "react";
import { BrowserRouter } from "react-router";
import { App } from "./App";

export function Root({ client }: { client: ConvexReactClient }) {
  return (
    <StrictMode>
      <ConvexAuthProvider client={client}>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </ConvexAuthProvider>
    </StrictMode>
  );
}
