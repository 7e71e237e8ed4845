/**
 * vitest globalSetup of the e2e project: one Synapse per run, shared by all
 * e2e files through `inject("synapse")` (see synapse-env.ts). If Synapse
 * cannot start this throws, so the e2e tests fail instead of being skipped.
 */
import type { TestProject } from "vitest/node";
import { startSynapse } from "../../src/dev/synapse.js";
import type { SharedSynapseInfo } from "./synapse-env.js";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const synapse = await startSynapse();
  const info: SharedSynapseInfo = {
    baseUrl: synapse.baseUrl,
    serverName: synapse.serverName,
    sharedSecret: synapse.sharedSecret,
    adminUserId: synapse.adminUserId,
    adminToken: synapse.adminToken,
    dir: synapse.dir,
  };
  project.provide("synapse", info);
  return async () => {
    // SURFACES_KEEP_SYNAPSE=1 keeps the data dir (homeserver.log) for a post-mortem.
    if (process.env["SURFACES_KEEP_SYNAPSE"]) await synapse.stop();
    else await synapse.dispose();
  };
}
