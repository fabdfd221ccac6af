/** Local images built by `npm run test:images`; nothing is ever pulled in tests. */
export const BUSYBOX_IMAGE = "artie-test/busybox:latest";
export const NODE_IMAGE = "artie-test/node:20";
/** Every container a test creates is named with this prefix, so cleanup never touches others. */
export const TEST_NAME_PREFIX = "test-";
