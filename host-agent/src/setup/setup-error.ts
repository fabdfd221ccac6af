/** A setup failure a person can act on; the runner reports its message as it is. */
export class SetupError extends Error {}
