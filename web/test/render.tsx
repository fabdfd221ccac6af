/**
 * Renders the whole app (providers, router, pages) on a fake Convex client at a path; `strict`
 * as Root does in production (effects run twice), for pages that must call something once.
 */
import { ConvexAuthProvider } from "@convex-dev/auth/react";
import { render } from "@testing-library/react";
import type { ConvexReactClient } from "convex/react";
import { StrictMode } from "react";
import { MemoryRouter } from "react-router";
import { App } from "../src/App";
import { ConvexReactClientFake } from "./fake-convex/ConvexReactClientFake";
import { storeSignedIn } from "./fake-convex/fixtures";

export function renderApp(path: string, { signedIn = true, fake = new ConvexReactClientFake(), strict = false } = {}) {
  if (signedIn) storeSignedIn(fake);
  const app = (
    <ConvexAuthProvider client={fake as unknown as ConvexReactClient}>
      <MemoryRouter initialEntries={[path]}>
        <App />
      </MemoryRouter>
    </ConvexAuthProvider>
  );
  const view = render(strict ? <StrictMode>{app}</StrictMode> : app);
  return { fake, ...view };
}
