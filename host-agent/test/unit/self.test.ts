// Covers how a path of the agent's own filesystem becomes the engine host's path through the
// mount holding it (src/docker/self.ts hostPathThrough), as the agent in a container needs for
// what it bind-mounts into environments.
import { describe, expect, it } from "vitest";
import { hostPathThrough } from "../../src/docker/self.js";

const volume = { Source: "/var/lib/docker/volumes/p_agent-data/_data", Destination: "/var/lib/artie-host-agent" };
const bind = { Source: "/srv/ca", Destination: "/run/ca" };

describe("hostPathThrough", () => {
  it("maps a path under a volume or bind mount to its source on the host", () => {
    expect(hostPathThrough([bind, volume], "/var/lib/artie-host-agent/ca-trust")).toBe(
      "/var/lib/docker/volumes/p_agent-data/_data/ca-trust",
    );
    expect(hostPathThrough([bind, volume], "/run/ca")).toBe("/srv/ca");
  });

  it("takes the innermost mount, and never a sibling whose name merely starts the same", () => {
    const inner = { Source: "/host/inner", Destination: "/var/lib/artie-host-agent/ca-trust" };
    expect(hostPathThrough([volume, inner], "/var/lib/artie-host-agent/ca-trust/x.pem")).toBe("/host/inner/x.pem");
    expect(hostPathThrough([volume], "/var/lib/artie-host-agent-other/x")).toBeNull();
    expect(hostPathThrough([], "/anything")).toBeNull();
  });
});
