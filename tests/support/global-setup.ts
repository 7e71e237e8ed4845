/**
 * vitest globalSetup of the e2e project: one Synapse and one reference agent
 * per run, shared by the e2e files through `inject("synapse")` and
 * `inject("agent")` (see synapse-env.ts). If either cannot start this throws,
 * so the e2e tests fail instead of being skipped. Files that kill, restart or
 * mis-configure an agent start their own (tests/support/bot.ts).
 * SURFACES_E2E_TOPOLOGY picks the homeserver: sqlite (default, one process),
 * postgres, or workers (PostgreSQL, workers, Redis, nginx: src/dev/synapse.ts).
 * SURFACES_E2E_ENCRYPTED=1 runs the files end-to-end encrypted (e2e-mode.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import type { TestProject } from "vitest/node";
import { parseTopology, startSynapse } from "../../src/dev/synapse.js";
import { startReferenceAgent } from "../../src/reference-agent/server.js";
import type { SharedSynapseInfo } from "./synapse-env.js";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // SURFACES_E2E_DEFAULT_LIMITS=1: Synapse's own rate limits for everyone; the bots are exempted per user (startBot), as the operator guide says.
  const defaultRateLimits = process.env["SURFACES_E2E_DEFAULT_LIMITS"] === "1";
  const synapse = await startSynapse({ topology: parseTopology(process.env["SURFACES_E2E_TOPOLOGY"]), defaultRateLimits });
  const info: SharedSynapseInfo = {
    baseUrl: synapse.baseUrl,
    serverName: synapse.serverName,
    sharedSecret: synapse.sharedSecret,
    adminUserId: synapse.adminUserId,
    adminToken: synapse.adminToken,
    dir: synapse.dir,
    topology: synapse.topology,
    defaultRateLimits,
  };
  project.provide("synapse", info);
  const workspace = mkdtempSync(join(tmpdir(), "surfaces-shared-agent-"));
  const agent = await startReferenceAgent({ workspace, logger: pino({ level: "silent" }) });
  project.provide("agent", { url: agent.url, workspace });
  return async () => {
    await agent.close();
    rmSync(workspace, { recursive: true, force: true });
    // SURFACES_KEEP_SYNAPSE=1 keeps the data dir (homeserver.log) for a post-mortem.
    if (process.env["SURFACES_KEEP_SYNAPSE"]) await synapse.stop();
    else await synapse.dispose();
  };
}
