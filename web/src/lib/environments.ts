/**
 * The environment as the dashboard receives it: the record plus what `containers.list` and
 * `containers.detail` add beside it (idle limits, deadlines, older settings). Taken from the
 * query's own return type, so a field added there is here too.
 */
import type { api } from "@convex/_generated/api";
import type { FunctionReturnType } from "convex/server";

export type Environment = FunctionReturnType<typeof api.containers.list>[number];
