import { describe, expect, it } from "vitest";
import { parseRegistry, RegistryError } from "../../src/config/registry.js";
import { asAgentId, asUserId } from "../../src/core/ids.js";

const FILE = "config/matrix-agents.yaml";

function errorOf(text: string, env: NodeJS.ProcessEnv = {}): RegistryError {
  try {
    parseRegistry(text, FILE, env);
  } catch (err) {
    if (err instanceof RegistryError) return err;
    throw err;
  }
  throw new Error("expected a RegistryError");
}

const valid = `
agents:
  alice: { base_url: "http://agent-alice:8080/", workspace_path: /agents/alice/, token_env: AGENT_ALICE_TOKEN }
  coder: { base_url: "https://coder.internal", workspace_path: /agents/coder }
  writer: { base_url: "http://writer:1", workspace_path: /agents/writer }
user_agents:
  "@alice:example.org": alice
  "@bob:example.org": [coder, writer]
`;

describe("parseRegistry", () => {
  it("loads agents and users", () => {
    const reg = parseRegistry(valid, FILE, { AGENT_ALICE_TOKEN: "s3cret" });
    expect(reg.source).toBe(FILE);
    expect(reg.agent(asAgentId("alice"))).toEqual({
      id: "alice",
      baseUrl: "http://agent-alice:8080",
      workspacePath: "/agents/alice",
      token: "s3cret",
    });
    expect(reg.agent(asAgentId("coder"))).toEqual({
      id: "coder",
      baseUrl: "https://coder.internal",
      workspacePath: "/agents/coder",
    });
    expect(reg.agent(asAgentId("nobody"))).toBeUndefined();
    expect(reg.agents.size).toBe(3);
  });

  it("maps a user to one agent or a list whose first is the default", () => {
    const reg = parseRegistry(valid, FILE, { AGENT_ALICE_TOKEN: "x" });
    expect(reg.agentsFor(asUserId("@alice:example.org"))).toEqual(["alice"]);
    expect(reg.agentsFor(asUserId("@bob:example.org"))).toEqual(["coder", "writer"]);
    expect(reg.agentsFor(asUserId("@eve:example.org"))).toEqual([]);
    expect(reg.isAllowed(asUserId("@bob:example.org"))).toBe(true);
    expect(reg.isAllowed(asUserId("@eve:example.org"))).toBe(false);
  });

  it("is immutable: callers cannot change it through what it returns", () => {
    const reg = parseRegistry(valid, FILE, { AGENT_ALICE_TOKEN: "x" });
    reg.agentsFor(asUserId("@bob:example.org")).push(asAgentId("alice"));
    expect(reg.agentsFor(asUserId("@bob:example.org"))).toEqual(["coder", "writer"]);
    expect(Object.isFrozen(reg)).toBe(true);
    expect(Object.isFrozen(reg.agent(asAgentId("coder")))).toBe(true);
  });

  it("allows a registry with agents but no users yet", () => {
    const reg = parseRegistry("agents:\n  a: { base_url: 'http://a', workspace_path: /a }\n", FILE, {});
    expect(reg.users.size).toBe(0);
  });

  it("names the file, line and column of invalid YAML", () => {
    const err = errorOf("agents:\n  alice: { base_url: http://a, workspace_path: /a\nuser_agents: {}\n");
    expect(err.problems).toHaveLength(1);
    expect(err.message).toMatch(/^config\/matrix-agents\.yaml:3:1: invalid YAML: /);
  });

  it("rejects duplicate keys as invalid YAML", () => {
    const err = errorOf("agents:\n  a: { base_url: http://a, workspace_path: /a }\n  a: { base_url: http://a, workspace_path: /a }\n");
    expect(err.message).toMatch(/^config\/matrix-agents\.yaml:3:3: invalid YAML: Map keys must be unique/);
  });

  it("names the path of an unknown agent reference", () => {
    const err = errorOf(`
agents:
  coder: { base_url: http://c, workspace_path: /agents/c }
user_agents:
  "@bob:x": [coder, ghost]
  "@eve:x": phantom
`);
    expect(err.message.split("\n")).toEqual([
      `${FILE}: user_agents."@bob:x".1: unknown agent "ghost" (not listed under agents) (line 5)`,
      `${FILE}: user_agents."@eve:x": unknown agent "phantom" (not listed under agents) (line 6)`,
    ]);
  });

  it("reports a token_env whose variable is not set", () => {
    const err = errorOf(valid, {});
    expect(err.problems).toEqual([
      expect.objectContaining({ path: "agents.alice.token_env", message: "environment variable AGENT_ALICE_TOKEN is not set" }),
    ]);
  });

  it("reports every field problem at once, in file order", () => {
    const err = errorOf(`
agents:
  Bad_Id: { base_url: ftp://x, workspace_path: relative, extra: 1 }
  ok: { workspace_path: /agents/ok }
user_agents:
  bob: ok
  "@carol:x": []
  "@dan:x": [ok, ok]
  "@erin:x": 5
surplus: true
`);
    expect(err.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      "agents.Bad_Id.base_url: must be an http:// or https:// URL, e.g. http://agent-alice:8080",
      "agents.Bad_Id.workspace_path: must be an absolute path, e.g. /agents/alice",
      "agents.Bad_Id.extra: unknown key",
      "agents.Bad_Id: agent ids use lowercase letters, digits, '_' and '-', starting with a letter or digit",
      "agents.ok.base_url: is required",
      "user_agents.bob: must be a Matrix user id like @name:example.org",
      'user_agents."@carol:x": must list at least one agent',
      'user_agents."@dan:x".1: agent "ok" is listed twice',
      'user_agents."@erin:x": must be an agent id or a list of agent ids',
      "surplus: unknown key",
    ]);
  });

  it("rejects an empty file and a file without agents", () => {
    expect(errorOf("").problems[0]?.message).toMatch(/must be a mapping/);
    expect(errorOf("user_agents: {}\n").message).toBe(`${FILE}: agents: is required`);
  });
});
