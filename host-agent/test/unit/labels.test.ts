// Covers src/docker/labels.ts: writing the agent's labels and reading them back (or refusing to).
import { describe, expect, it } from "vitest";
import {
  LABEL,
  MANAGED_FILTER,
  containerName,
  fromLabels,
  toLabels,
  type ManagedLabels,
} from "../../src/docker/labels.js";

const managed = (overrides: Partial<ManagedLabels> = {}): ManagedLabels => ({
  id: "abc123",
  name: "web-dev",
  ports: [
    { containerPort: 3000, hostPort: 10007 },
    { containerPort: 5173, hostPort: 10008 },
  ],
  pool: true,
  createdAt: "2025-01-02T03:04:05.000Z",
  volumeName: "owner-repo-node_modules",
  networkName: null,
  ...overrides,
});

describe("toLabels", () => {
  it("writes the managed marker, id, first host port, all ports as JSON, pool and creation time", () => {
    expect(toLabels(managed())).toEqual({
      "artie.managed": "true",
      "artie.id": "abc123",
      "artie.name": "web-dev",
      "artie.port": "10007",
      "artie.ports": JSON.stringify(managed().ports),
      "artie.pool": "true",
      "artie.created-at": "2025-01-02T03:04:05.000Z",
      "artie.volume": "owner-repo-node_modules",
    });
  });

  it("leaves the volume label out when there is no volume", () => {
    expect(toLabels(managed({ volumeName: null }))).not.toHaveProperty(LABEL.volume);
  });

  it("writes only string values (Docker labels are strings)", () => {
    expect(Object.values(toLabels(managed({ pool: false }))).every((v) => typeof v === "string")).toBe(true);
  });

  it("is what the managed filter selects", () => {
    const labels = toLabels(managed());
    const [key, value] = MANAGED_FILTER.label[0]!.split("=");
    expect(labels[key!]).toBe(value);
  });
});

describe("fromLabels", () => {
  it("round-trips what toLabels wrote", () => {
    for (const m of [
      managed(),
      managed({ pool: false, volumeName: null, ports: [{ containerPort: 80, hostPort: 19999 }] }),
    ]) {
      expect(fromLabels(toLabels(m))).toEqual(m);
    }
  });

  it("ignores labels of other tools next to its own", () => {
    expect(fromLabels({ ...toLabels(managed()), "com.docker.compose.project": "x" })).toEqual(managed());
  });

  it("returns null for undefined labels", () => {
    expect(fromLabels(undefined)).toBeNull();
  });

  it("returns null for a container the agent does not manage", () => {
    expect(fromLabels({ ...toLabels(managed()), [LABEL.managed]: "false" })).toBeNull();
    const { [LABEL.managed]: _, ...unmarked } = toLabels(managed());
    expect(fromLabels(unmarked)).toBeNull();
  });

  it("returns null when the id is missing or empty", () => {
    const { [LABEL.id]: _, ...noId } = toLabels(managed());
    expect(fromLabels(noId)).toBeNull();
    expect(fromLabels({ ...toLabels(managed()), [LABEL.id]: "" })).toBeNull();
  });

  it.each([
    ["missing", undefined],
    ["not JSON", "{10000"],
    ["an empty list", "[]"],
    ["an object", '{"containerPort":3000,"hostPort":10000}'],
    ["a port out of range", '[{"containerPort":3000,"hostPort":70000}]'],
    ["a port as a string", '[{"containerPort":3000,"hostPort":"10000"}]'],
  ])("returns null when the ports label is %s", (_what, value) => {
    const labels: Record<string, string> = { ...toLabels(managed()) };
    if (value === undefined) delete labels[LABEL.ports];
    else labels[LABEL.ports] = value;
    expect(fromLabels(labels)).toBeNull();
  });

  it("falls back to the id for a missing name and to defaults for optional labels", () => {
    const labels: Record<string, string> = { ...toLabels(managed()) };
    delete labels[LABEL.name];
    delete labels[LABEL.pool];
    delete labels[LABEL.createdAt];
    delete labels[LABEL.volume];
    expect(fromLabels(labels)).toMatchObject({
      id: "abc123",
      name: "abc123",
      pool: false,
      createdAt: "",
      volumeName: null,
    });
  });
});

describe("containerName", () => {
  it("prefixes the id so Docker's unique names make creates idempotent", () => {
    expect(containerName("abc123")).toBe("artie-abc123");
  });
});
