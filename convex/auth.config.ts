/** Identity providers whose tokens this deployment accepts: Convex Auth's own, by default. */
import { env } from "./_generated/server";

export default {
  providers: [{ domain: env.CONVEX_SITE_URL, applicationID: "convex" }],
};
