/**
 * The container resource: list, get, create, exec, restart, delete, setup (accepted at once,
 * progress by callbacks). Each handler parses its
 * input with the contract, calls the service and answers; errors go to the app's onError.
 */
import { Hono } from "hono";
import { ContainerId, CreateContainerRequest, ExecRequest, SetupRequest } from "../api/contract.js";
import { parseOr400, readJson } from "../api/errors.js";
import type { ActivityLog } from "../containers/activity.js";
import type { ExecRunner } from "../containers/exec-runner.js";
import type { ContainerService } from "../containers/service.js";
import type { SetupRunner } from "../setup/runner.js";

const IdempotencyKey = ContainerId.optional();

export function containerRoutes(deps: {
  containers: ContainerService;
  exec: ExecRunner;
  setup: SetupRunner;
  activity: ActivityLog;
}) {
  const { containers } = deps;
  const idParam = (raw: string) => parseOr400(ContainerId, raw, "container id");

  return new Hono()
    .get("/", async (c) => c.json({ containers: await containers.list() }))
    .post("/", async (c) => {
      const body = parseOr400(CreateContainerRequest, await readJson(c), "body");
      const key = parseOr400(IdempotencyKey, c.req.header("idempotency-key"), "Idempotency-Key header");
      const result = await containers.create(body, key);
      return c.json(result, result.created ? 201 : 200);
    })
    .get("/:id", async (c) => c.json(await containers.get(idParam(c.req.param("id")))))
    .delete("/:id", async (c) => {
      const id = idParam(c.req.param("id"));
      await containers.remove(id);
      return c.json({ id, removed: true as const });
    })
    .post("/:id/restart", async (c) => c.json(await containers.restart(idParam(c.req.param("id")))))
    .post("/:id/setup", async (c) => {
      const id = idParam(c.req.param("id"));
      const body = parseOr400(SetupRequest, await readJson(c), "body");
      await deps.setup.start(id, body);
      return c.json({ id, accepted: true as const }, 202);
    })
    .post("/:id/exec", async (c) => {
      const id = idParam(c.req.param("id"));
      const body = parseOr400(ExecRequest, await readJson(c), "body");
      const run = async (dockerId: string) => {
        // An exec is use: at its start, and again at the end of a long one.
        deps.activity.record(id);
        try {
          return await deps.exec.run(dockerId, body);
        } finally {
          deps.activity.record(id);
        }
      };
      return c.json(await containers.withDockerId(id, run));
    });
}
