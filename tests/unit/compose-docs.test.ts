/** The operator guide names every setting and every metric the code has. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ENV_VARS } from "../../src/config/env-schema.js";
import { Metrics } from "../../src/observability/metrics.js";

const guide = readFileSync(path.resolve(import.meta.dirname, "../../docs/operator-guide.md"), "utf8");

describe("docs/operator-guide.md", () => {
  it("documents every environment variable of the bot and of the reference agent", () => {
    const agentVars = ["AGENT_PORT", "AGENT_HOST", "AGENT_WORKSPACE", "AGENT_MODE", "AGENT_TOKEN", "PROVIDER_URL", "PROVIDER_MODEL", "PROVIDER_API_KEY"];
    for (const v of [...ENV_VARS, ...agentVars]) expect(guide, v).toContain(`| \`${v}\` |`);
  });

  it("documents every registry field", () => {
    for (const f of ["base_url", "workspace_path", "token_env", "user_agents"]) expect(guide).toContain(f);
  });

  it("lists every metric the bot exports (besides the process defaults)", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.bindSources({ queueDepth: () => 0, agentIds: () => [], agents: { status: () => "unavailable" } });
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names.length).toBe(13);
    for (const name of names) expect(guide, name).toContain(`| \`${name}\` |`);
  });
});
