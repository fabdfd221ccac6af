// Covers src/setup/container-io.ts's prefixer script: LOGGED embeds it in single quotes.
import { expect, it } from "vitest";
import { PREFIXER } from "../../src/setup/container-io.js";

it("PREFIXER holds no single quote (it would end LOGGED's quoting)", () => {
  expect(PREFIXER).not.toContain("'");
  expect(PREFIXER.length).toBeGreaterThan(100);
});
