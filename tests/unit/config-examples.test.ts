/** The sample files and the docs must stay in step with the schemas. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ENV_VARS } from "../../src/config/env-schema.js";
import { loadConfig } from "../../src/config/env.js";
import { loadRegistry } from "../../src/config/registry.js";
import { parse as parseDotenv } from "dotenv";
import { asAgentId, asUserId } from "../../src/core/ids.js";

const root = new URL("../../", import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), "utf8");

describe("config/matrix-agents.example.yaml", () => {
  it("parses with the real schema", () => {
    const reg = loadRegistry(new URL("config/matrix-agents.example.yaml", root).pathname, {
      AGENT_ALICE_TOKEN: "t0ken",
    });
    expect([...reg.agents.keys()]).toEqual(["alice", "coder", "writer"]);
    expect(reg.agent(asAgentId("alice"))?.token).toBe("t0ken");
    expect(reg.agentsFor(asUserId("@bob:example.org"))).toEqual(["coder", "writer"]);
  });

  it("documents every registry field", () => {
    const text = read("config/matrix-agents.example.yaml");
    for (const field of ["agents:", "base_url:", "workspace_path:", "token_env:", "user_agents:"]) {
      expect(text).toContain(field);
    }
  });
});

describe(".env.example", () => {
  const example = read(".env.example");

  it("lists every environment variable of the schema", () => {
    const listed = new Set(Object.keys(parseDotenv(example)));
    expect(ENV_VARS.filter((v) => !listed.has(v))).toEqual([]);
    expect([...listed].filter((v) => v.startsWith("SURFACES_") && !ENV_VARS.includes(v as never))).toEqual([]);
  });

  it("is a valid configuration once one credential is filled in", () => {
    const env = { ...parseDotenv(example), SURFACES_ACCESS_TOKEN: "x" };
    expect(() => loadConfig(env)).not.toThrow();
  });
});

describe("docs/configuration.md", () => {
  it("describes every environment variable and registry field", () => {
    const doc = read("docs/configuration.md");
    for (const v of ENV_VARS) expect(doc).toContain(v);
    for (const f of ["base_url", "workspace_path", "token_env", "user_agents"]) expect(doc).toContain(f);
  });
});
