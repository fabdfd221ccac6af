// Component tests run in jsdom: add the DOM matchers, clean up between tests, give async queries
// time on a busy machine, and supply what
// jsdom lacks (<dialog> modality, ResizeObserver, EventSource) as minimal stand-ins.
import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";

// findBy* and waitFor wait up to 1 s by default; a route's first render under a loaded CI machine
// (the Docker suites run beside these) can take longer. Waits end as soon as the element is there.
configure({ asyncUtilTimeout: 5000 });

afterEach(() => {
  cleanup();
  localStorage.clear();
});

if (!("showModal" in HTMLDialogElement.prototype)) {
  Object.assign(HTMLDialogElement.prototype, {
    showModal(this: HTMLDialogElement) {
      this.setAttribute("open", "");
    },
    close(this: HTMLDialogElement) {
      this.removeAttribute("open");
      this.dispatchEvent(new Event("close"));
    },
  });
}
globalThis.ResizeObserver ??= class {
  observe() {}
  unobserve() {}
  disconnect() {}
};
