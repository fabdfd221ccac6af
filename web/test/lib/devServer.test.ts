// The agent's stop report split for reading (what happened; the last lines without the in-
// container prefix), from the agent's own describeStop, and when a health badge means anything.
import { describe, expect, it } from "vitest";
import { describeStop } from "../../../host-agent/src/watch/crash-report.js";
import { downReport, showsHealth } from "../../src/lib/devServer";

describe("downReport", () => {
  it("splits the agent's report into what happened and the last output", () => {
    const error = describeStop({
      reason: "exited",
      exitCode: 1,
      memoryMb: 2048,
      whileAway: false,
      lines: ["[dev] listening on 3000", "[dev] Error: Cannot find module 'express'", ""],
    });
    expect(downReport(error)).toEqual({
      summary: "The dev server exited with code 1. Restart the environment to start it again.",
      lastLines: ["listening on 3000", "Error: Cannot find module 'express'"],
    });
  });

  it("has no lines when the report has none", () => {
    const error = describeStop({ reason: "oom", exitCode: 137, memoryMb: 256, whileAway: true, lines: [] });
    expect(downReport(error)).toEqual({
      summary: expect.stringContaining(
        "The dev server was killed while the host agent was not running: out of memory (limit 256 MB).",
      ) as string,
      lastLines: [],
    });
  });
});

describe("showsHealth", () => {
  it("shows a checked health on a ready environment only", () => {
    expect(showsHealth({ status: "ready", health: "answering" })).toBe(true);
    expect(showsHealth({ status: "ready", health: "not answering" })).toBe(true);
    expect(showsHealth({ status: "ready", health: "none" })).toBe(false);
    expect(showsHealth({ status: "ready" })).toBe(false);
    expect(showsHealth({ status: "stopped", health: "not answering" })).toBe(false);
  });
});
