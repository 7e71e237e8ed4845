/**
 * Real-Synapse harness for tests. The core lives in src/dev/synapse.ts
 * because the local stack (`npm run stack`) starts Synapse the same way.
 *
 * Most e2e tests share the run-wide Synapse through `useSynapse()`
 * (tests/support/synapse-env.ts). Start a private one with `startSynapse()`
 * only when a test must stop/restart/kill the homeserver or needs Synapse's
 * default rate limits; always `dispose()` it in afterAll.
 */
export * from "../../src/dev/synapse.js";
