// Covers dockerode's connection options from DOCKER_HOST (src/docker/engine-connection.ts).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerEndpoint } from "../../src/config.js";
import { dockerodeOptions, EngineConnectionError } from "../../src/docker/engine-connection.js";

let certs: string;
beforeAll(async () => {
  certs = await mkdtemp(path.join(tmpdir(), "artie-engine-certs-"));
  for (const f of ["ca.pem", "cert.pem", "key.pem"]) await writeFile(path.join(certs, f), `pem of ${f}`);
});
afterAll(() => rm(certs, { recursive: true, force: true }));

describe("dockerodeOptions", () => {
  it("sets every connection field, so the process environment's DOCKER_HOST cannot leak in", () => {
    const socket = dockerodeOptions(dockerEndpoint({ host: "unix:///run/e2.sock", tlsVerify: false }));
    expect(socket).toEqual({
      socketPath: "/run/e2.sock",
      host: undefined,
      port: undefined,
      protocol: undefined,
      ca: undefined,
      cert: undefined,
      key: undefined,
    });
    expect(Object.keys(socket)).toEqual(expect.arrayContaining(["host", "port", "protocol", "ca", "cert", "key"]));
    const plain = dockerodeOptions(dockerEndpoint({ host: "tcp://127.0.0.1:23751", tlsVerify: false }));
    expect(plain).toMatchObject({
      host: "127.0.0.1",
      port: 23751,
      protocol: "http",
      socketPath: undefined,
      ca: undefined,
    });
  });

  it("reads the CLI's three certificate files for TLS", () => {
    const tls = dockerodeOptions(dockerEndpoint({ host: "tcp://docker:2376", tlsVerify: true, certPath: certs }));
    expect(tls).toMatchObject({
      host: "docker",
      port: 2376,
      protocol: "https",
      ca: "pem of ca.pem",
      cert: "pem of cert.pem",
      key: "pem of key.pem",
    });
  });

  it("names the missing file and DOCKER_CERT_PATH", () => {
    const endpoint = dockerEndpoint({ host: "tcp://docker:2376", tlsVerify: true, certPath: path.join(certs, "none") });
    expect(() => dockerodeOptions(endpoint)).toThrow(EngineConnectionError);
    expect(() => dockerodeOptions(endpoint)).toThrow(/ca\.pem in DOCKER_CERT_PATH/);
  });
});
