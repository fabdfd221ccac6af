// Covers image references in Docker's familiar form (docker/client.ts familiarImage): what Podman
// reports fully qualified reads as Docker reports it.
import { describe, expect, it } from "vitest";
import { familiarImage } from "../../src/docker/client.js";

describe("familiarImage", () => {
  it("drops Docker Hub's implied registry and library namespace, and nothing else", () => {
    expect(familiarImage("docker.io/library/artie-main-abc:main")).toBe("artie-main-abc:main");
    expect(familiarImage("docker.io/artie-test/node:20")).toBe("artie-test/node:20");
    expect(familiarImage("artie-test/node:20")).toBe("artie-test/node:20");
    expect(familiarImage("localhost/artie-test/busybox:latest")).toBe("localhost/artie-test/busybox:latest");
    expect(familiarImage("registry.example/docker.io/x:1")).toBe("registry.example/docker.io/x:1");
  });
});
