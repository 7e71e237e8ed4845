/**
 * `surfaces agent-check` against real agents on real sockets: the reference
 * agent and a correct fake pass every rule; a fake broken in one way fails
 * the rule that names that behaviour, with the reason.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RULES, runAgentCheck, type AgentCheckOptions, type RuleName, type RuleResult } from "../../src/agent-check/check.js";
import { runAgentCheckCli } from "../../src/cli/agent-check.js";
import { startFakeAgent, type Fault, type FakeAgent } from "./agent-check-fakes.js";
import { startAgent } from "./agent-harness.js";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** Short bounds (still generous on a loaded machine): every fake answers within ~100 ms except on purpose. */
const fast = (baseUrl: string, extra: Partial<AgentCheckOptions> = {}): AgentCheckOptions => ({
  baseUrl,
  prompt: "hi",
  longPrompt: "LONG",
  filePrompt: "FILE",
  turnTimeoutMs: 3000,
  cancelBoundMs: 1000,
  handshakeTimeoutMs: 2000,
  settleMs: 150,
  ...extra,
});

async function fake(fault?: Fault, token?: string): Promise<FakeAgent> {
  const agent = await startFakeAgent({ ...(fault && { fault }), ...(token && { token }) });
  closers.push(() => agent.close());
  return agent;
}

const verdicts = (results: RuleResult[]): Record<string, string> => Object.fromEntries(results.map((r) => [r.rule, r.verdict]));

describe("agent-check", () => {
  it("passes the reference agent on every rule, and prints one line per rule and a summary", async () => {
    const agent = await startAgent({ token: "s3cret" });
    closers.push(() => agent.close());
    const lines: string[] = [];
    const out = { write: (s: string) => lines.push(...s.split("\n").filter(Boolean)) } as unknown as NodeJS.WritableStream;
    const code = await runAgentCheckCli(
      [agent.url, "--long-prompt", "/slow 100 20", "--file-prompt", "/file report.txt", "--turn-timeout-ms", "5000", "--settle-ms", "150"],
      { AGENT_TOKEN: "s3cret" },
      out,
    );
    expect(lines.slice(1, -1).map((l) => l.split(/\s+/).slice(0, 2).join(" "))).toEqual(RULES.map((r) => `PASS ${r}`));
    expect(lines.at(-1)).toBe(`agent-check: ${RULES.length} passed, 0 failed, 0 skipped of ${RULES.length} rules — OK`);
    expect(code).toBe(0);
  });

  it("checks file frames on disk when given the workspace", async () => {
    const agent = await startAgent();
    closers.push(() => agent.close());
    const workspace = mkdtempSync(join(tmpdir(), "agent-check-ws-"));
    const missing = await runAgentCheck(fast(agent.url, { longPrompt: "/slow 100 20", filePrompt: "/file report.txt", workspace }));
    expect(missing.find((r) => r.rule === "files")).toMatchObject({ verdict: "fail", detail: expect.stringContaining("missing") as unknown });
    writeFileSync(join(workspace, "report.txt"), "the report");
    const present = await runAgentCheck(fast(agent.url, { longPrompt: "/slow 100 20", filePrompt: "/file report.txt", workspace }));
    expect(present.find((r) => r.rule === "files")).toMatchObject({ verdict: "pass", detail: expect.stringContaining(workspace) as unknown });
  });

  it("passes a correct fake agent with a token, and skips only what it was not given", async () => {
    const agent = await fake(undefined, "t0k");
    expect(verdicts(await runAgentCheck(fast(agent.url, { token: "t0k" })))).toEqual(Object.fromEntries(RULES.map((r) => [r, "pass"])));
    const open = await fake();
    const { filePrompt: _f, ...noFile } = fast(open.url);
    const results = verdicts(await runAgentCheck(noFile));
    expect(results).toMatchObject({ auth: "skip", files: "skip", "plain-turn": "pass", frames: "pass" });
  });

  // One broken agent per rule: the rule fails, with a reason that names the fault.
  const broken: Array<[RuleName, Fault, RegExp]> = [
    ["health", "health-500", /HTTP 500/],
    ["handshake", "no-hello", /no hello from the agent within/],
    ["auth", "accepts-any-token", /without a token was not refused with HTTP 401/],
    ["version", "ignores-version", /kept the socket open; it must close with 4001/],
    ["plain-turn", "double-end", /2 terminal frames \(end, end\)/],
    ["forward-compat", "closes-on-unknown-type", /socket closed \(1003\)/],
    ["interleaved", "one-turn-at-a-time", /chat agent-check-3: no end within 3000 ms/],
    ["cancel", "ignores-cancel", /no end within 1000 ms of cancel/],
    ["cancel", "closes-on-late-cancel", /a cancel for a finished turn closed the socket \(1011\)/],
    ["chat-closed", "closes-on-chat-closed", /after chat_closed: the socket closed \(1011\)/],
    ["files", "file-outside", /"\.\.\/outside\.txt" resolves outside the workspace/],
    ["reconnect", "ghosts-after-reconnect", /frames of a turn of the dropped connection arrived on the new one/],
    ["frames", "invalid-frame", /invalid text frame: delta/],
    ["frames", "oversized-frame", /a 104\d{4}-byte frame \(limit 1048576\)/],
    ["frames", "unknown-request-id", /a text frame for unknown request_id "ghost-turn"/],
  ];
  // Independent agents on their own ports: run side by side (each test owns its cleanup).
  it.concurrent.for(broken)("fails %s on an agent that %s", async ([rule, fault, why], { expect, onTestFinished }) => {
    const agent = await startFakeAgent({ fault, ...(fault === "accepts-any-token" && { token: "t0k" }) });
    onTestFinished(() => agent.close());
    const results = await runAgentCheck(fast(agent.url, fault === "accepts-any-token" ? { token: "t0k" } : {}));
    const firstFailure = results.find((r) => r.verdict === "fail");
    expect(firstFailure?.rule).toBe(rule);
    expect(firstFailure?.detail).toMatch(why);
  });

  it("passes version with a warning when the agent closes with 4001 but says no hello first", async () => {
    const agent = await fake("silent-mismatch");
    const version = (await runAgentCheck(fast(agent.url))).find((r) => r.rule === "version");
    expect(version).toMatchObject({ verdict: "pass", detail: expect.stringContaining("warning: send your own hello first") as unknown });
  });

  it("exits 2 with the usage on bad arguments, and 1 when the agent is not there", async () => {
    const lines: string[] = [];
    const out = { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream;
    expect(await runAgentCheckCli([], {}, out)).toBe(2);
    expect(await runAgentCheckCli(["ftp://x"], {}, out)).toBe(2);
    expect(await runAgentCheckCli(["http://127.0.0.1:9", "--turn-timeout-ms", "soon"], {}, out)).toBe(2);
    expect(lines.join("")).toContain("usage: surfaces agent-check <base_url>");
    expect(await runAgentCheckCli(["http://127.0.0.1:9", "--handshake-timeout-ms", "500"], {}, out)).toBe(1);
    expect(lines.join("")).toMatch(/FAIL {2}health/);
  });
});
