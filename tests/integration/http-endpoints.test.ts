/** The health/metrics listener on a real port, fed by a real agent pool and reference agent. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { appReadiness } from "../../src/http/readiness.js";
import { startHttpServer, type HttpServer } from "../../src/http/server.js";
import { asAgentId } from "../../src/core/ids.js";
import { Metrics } from "../../src/observability/metrics.js";
import { observeAgentPort } from "../../src/observability/observed-agents.js";
import type { ReferenceAgent } from "../../src/reference-agent/server.js";
import { openStore } from "../../src/store/index.js";
import { AGENT, makePool, runTurn, silent, startAgent, waitFor } from "./agent-harness.js";
import type { AgentPort } from "../../src/core/agent-port.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(opts: { synced: () => boolean; metrics?: Metrics; storeFile?: string }): Promise<HttpServer> {
  const store = openStore(opts.storeFile ?? join(mkdtempSync(join(tmpdir(), "surfaces-http-")), "s.db"));
  cleanups.push(() => store.close());
  const http = await startHttpServer({
    addr: { host: "127.0.0.1", port: 0 },
    logger: silent,
    readiness: () =>
      appReadiness({ synced: opts.synced, stopping: () => false, probeStore: () => void store.kv.get("x"), registryAgents: () => 1 }),
    ...(opts.metrics && { metrics: opts.metrics }),
  });
  cleanups.push(() => http.close());
  return http;
}

describe("health endpoints", () => {
  it("/healthz is 200 while alive; /readyz follows the sync state with reasons", async () => {
    let synced = false;
    const http = await serve({ synced: () => synced });
    const health = await fetch(`${http.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });

    const before = await fetch(`${http.url}/readyz`);
    expect(before.status).toBe(503);
    const body = (await before.json()) as { checks: Record<string, boolean>; reasons: string[] };
    expect(body.checks).toEqual({ running: true, synced: false, store: true, registry: true });
    expect(body.reasons).toEqual(["synced: first sync with the homeserver not finished"]);

    synced = true;
    const after = await fetch(`${http.url}/readyz`);
    expect(after.status).toBe(200);
    expect(await after.json()).toMatchObject({ status: "ready", reasons: [] });
  });

  it("/readyz is 503 naming the store once the database is closed", () => {
    const store = openStore(join(mkdtempSync(join(tmpdir(), "surfaces-http-")), "s.db"));
    store.close();
    const r = appReadiness({ synced: () => true, stopping: () => false, probeStore: () => void store.kv.get("x"), registryAgents: () => 1 });
    expect(r.ready).toBe(false);
    expect(r.checks.store).toBe(false);
    expect(r.reasons[0]).toMatch(/^store: .*not open/);
  });

  it("answers 404 for unknown paths, 405 for writes, and 404 on /metrics when none are wired", async () => {
    const http = await serve({ synced: () => true });
    expect((await fetch(`${http.url}/nope`)).status).toBe(404);
    const post = await fetch(`${http.url}/healthz`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect((await fetch(`${http.url}/metrics`)).status).toBe(404);
  });
});

describe("/metrics", () => {
  let agent: ReferenceAgent;
  let pool: AgentPort;

  it("exports turn, latency, rate-limit, queue, agent-state and file metrics in Prometheus format", async () => {
    agent = await startAgent();
    pool = makePool({ [AGENT]: { baseUrl: agent.url } });
    cleanups.push(() => agent.close(), () => pool.close());
    const metrics = new Metrics({ defaultMetrics: false });
    const ghost = asAgentId("ghost");
    metrics.bindSources({ queueDepth: () => 3, agentIds: () => [AGENT, ghost], agents: pool });
    const observed = observeAgentPort(pool, metrics);
    const http = await serve({ synced: () => true, metrics });

    await (await runTurn(observed, "hello")).done;
    await (await runTurn(observed, "/error")).done;
    await expect(runTurn(observed, "hi", { agentId: ghost })).rejects.toThrow(/unavailable/);
    metrics.sendLatency.observe(0.02);
    metrics.rateLimited.inc();
    metrics.fileRelayed("inbound", 1234);
    metrics.fileRelayed("outbound", 10);
    metrics.fileRelayed("inbound", 66);

    const res = await fetch(`${http.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const lines = text.split("\n");
    const has = (line: string): void => expect(lines).toContain(line);
    has('surfaces_turns_started_total{agent="ref"} 2');
    has('surfaces_turns_started_total{agent="ghost"} 1');
    has('surfaces_turns_finished_total{agent="ref"} 1');
    // An agent's own error code is not a label value: it counts as "other".
    has('surfaces_turns_failed_total{agent="ref",code="other"} 1');
    has('surfaces_turns_failed_total{agent="ghost",code="unavailable"} 1');
    has('surfaces_turn_first_text_seconds_count{agent="ref"} 1');
    has('surfaces_turn_duration_seconds_count{agent="ref",outcome="end"} 1');
    has('surfaces_turn_duration_seconds_count{agent="ref",outcome="error"} 1');
    has("surfaces_matrix_send_seconds_count 1");
    has('surfaces_matrix_send_seconds_bucket{le="0.025"} 1');
    has("surfaces_matrix_rate_limited_total 1");
    has("surfaces_queue_depth 3");
    has('surfaces_agent_connection_state{agent="ref",state="connected"} 1');
    has('surfaces_agent_connection_state{agent="ref",state="unavailable"} 0');
    has('surfaces_agent_connection_state{agent="ghost",state="unavailable"} 1');
    has('surfaces_files_relayed_total{direction="inbound"} 2');
    has('surfaces_files_relayed_total{direction="outbound"} 1');
    has('surfaces_file_bytes_total{direction="inbound"} 1300');
    expect(text).toContain("# TYPE surfaces_turn_first_text_seconds histogram");
  });

  it("reports an agent as connecting/unavailable once its agent goes away", async () => {
    agent = await startAgent();
    pool = makePool({ [AGENT]: { baseUrl: agent.url } });
    cleanups.push(() => pool.close());
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.bindSources({ queueDepth: () => 0, agentIds: () => [AGENT], agents: pool });
    await waitFor(() => pool.status(AGENT) === "connected", 5000, "connected");
    expect(await metrics.text()).toContain('surfaces_agent_connection_state{agent="ref",state="connected"} 1');
    await agent.close();
    await waitFor(() => pool.status(AGENT) !== "connected", 5000, "disconnect");
    const text = await metrics.text();
    expect(text).toContain('surfaces_agent_connection_state{agent="ref",state="connected"} 0');
  });

  it("includes process metrics by default", async () => {
    expect(await new Metrics().text()).toContain("surfaces_process_cpu_user_seconds_total");
  });
});
