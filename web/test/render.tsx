/** Renders the whole app (providers, router, pages) on a fake Convex client at a path. */
import { ConvexAuthProvider } from "@convex-dev/auth/react";
import { render } from "@testing-library/react";
import type { ConvexReactClient } from "convex/react";
import { MemoryRouter } from "react-router";
import { App } from "../src/App";
import { ConvexReactClientFake } from "./fake-convex/ConvexReactClientFake";
import { storeSignedIn } from "./fake-convex/fixtures";

export function renderApp(path: string, { signedIn = true, fake = new ConvexReactClientFake() } = {}) {
  if (signedIn) storeSignedIn(fake);
  const view = render(
    <ConvexAuthProvider client={fake as unknown as ConvexReactClient}>
      <MemoryRouter initialEntries={[path]}>
        <App />
      </MemoryRouter>
    </ConvexAuthProvider>,
  );
  return { fake, ...view };
}
