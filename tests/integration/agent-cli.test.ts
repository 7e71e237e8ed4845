/** The reference agent's own edges: CLI start-up, HTTP routes, upgrade refusals, handshake rules. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { runReferenceAgentCli } from "../../src/reference-agent/cli.js";
import type { ReferenceAgent } from "../../src/reference-agent/server.js";
import { silent, startAgent } from "./agent-harness.js";

const running: ReferenceAgent[] = [];
afterEach(async () => {
  for (const a of running.splice(0)) await a.close();
});

/** Opens a raw socket and resolves with the first frame, or the upgrade error / close code. */
function probe(url: string, opts: { token?: string; send?: string } = {}): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, opts.token ? { headers: { authorization: `Bearer ${opts.token}` } } : {});
    ws.on("open", () => ws.send(opts.send ?? JSON.stringify({ type: "hello", protocol: 1, surface: "matrix", version: "0" })));
    ws.on("message", (data) => {
      resolve((data as Buffer).toString("utf8"));
      ws.close();
    });
    ws.on("error", (err) => resolve(`error: ${err.message}`));
    ws.on("close", (code) => resolve(`close: ${code}`));
  });
}

describe("reference agent edges", () => {
  it("starts from CLI flags and the environment", async () => {
    const workspace = mkdtempSync(join(tmpdir(), "surfaces-cli-"));
    const agent = await runReferenceAgentCli(["--port", "0", "--workspace", workspace], { AGENT_MODE: "scripted" }, silent);
    running.push(agent);
    expect(agent.url).toBe(`http://127.0.0.1:${agent.port}`);
    const health = await fetch(`${agent.url}/health`);
    expect(await health.json()).toEqual({ status: "ok", mode: "scripted", protocol: 1 });
    expect((await fetch(`${agent.url}/nope`)).status).toBe(404);
  });

  it("refuses llm mode without a provider, naming what is missing", async () => {
    await expect(runReferenceAgentCli(["--port", "0", "--mode", "llm"], {}, silent)).rejects.toThrow(/llm/);
  });

  it("answers the surface hello with its own, and refuses bad upgrades", async () => {
    const agent = await startAgent({ token: "t0k" });
    running.push(agent);
    const ws = `ws://127.0.0.1:${agent.port}/agent_ws/`;
    expect(JSON.parse(await probe(ws, { token: "t0k" }))).toEqual({
      type: "hello",
      protocol: 1,
      agent: { name: "surfaces-reference-agent", version: expect.any(String) as unknown },
      capabilities: ["files", "blocks", "cancel", "notify", "confirm"],
    });
    expect(await probe(ws)).toBe("error: Unexpected server response: 401");
    expect(await probe(ws, { token: "nope" })).toBe("error: Unexpected server response: 401");
    expect(await probe(`ws://127.0.0.1:${agent.port}/elsewhere/`, { token: "t0k" })).toBe("error: Unexpected server response: 404");
    expect(await probe(ws, { token: "t0k", send: JSON.stringify({ type: "cancel", request_id: "x" }) })).toBe("close: 4002");
  });
});
