import { describe, expect, it } from "vitest";
import { backoffDelay, DEFAULT_BACKOFF } from "../../src/agents/backoff.js";
import { agentWsUrl } from "../../src/agents/url.js";

describe("backoffDelay", () => {
  const max = () => 0.999999;

  it("defaults to 0.5 s → 30 s", () => {
    expect(DEFAULT_BACKOFF).toEqual({ initialMs: 500, maxMs: 30_000 });
  });

  it("doubles the ceiling each attempt up to the cap", () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, DEFAULT_BACKOFF, max));
    expect(ceilings).toEqual([499, 999, 1999, 3999, 7999, 15999, 29999, 29999, 29999]);
  });

  it("is full jitter: uniform between 0 and the ceiling", () => {
    expect(backoffDelay(3, DEFAULT_BACKOFF, () => 0)).toBe(0);
    expect(backoffDelay(3, DEFAULT_BACKOFF, () => 0.5)).toBe(2000);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(4, DEFAULT_BACKOFF);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(8000);
    }
  });

  it("stays finite for absurd attempt numbers", () => {
    expect(backoffDelay(10_000, DEFAULT_BACKOFF, max)).toBe(29999);
    expect(backoffDelay(-3, DEFAULT_BACKOFF, max)).toBe(499);
  });
});

describe("agentWsUrl", () => {
  it.each([
    ["http://agent:8080", "ws://agent:8080/agent_ws/"],
    ["http://agent:8080/", "ws://agent:8080/agent_ws/"],
    ["https://agents.example.org/alice", "wss://agents.example.org/alice/agent_ws/"],
    ["https://agents.example.org/alice/", "wss://agents.example.org/alice/agent_ws/"],
    ["ws://127.0.0.1:1234", "ws://127.0.0.1:1234/agent_ws/"],
  ])("%s → %s", (base, ws) => {
    expect(agentWsUrl(base)).toBe(ws);
  });

  it("refuses other schemes and garbage", () => {
    expect(() => agentWsUrl("ftp://agent")).toThrow(/http/);
    expect(() => agentWsUrl("not a url")).toThrow();
  });
});
