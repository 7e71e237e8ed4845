/**
 * Start-up refuses bad configuration with one message naming every problem,
 * before any login; a bad registry names the file, the path in it and why.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const tsx = join(process.cwd(), "node_modules", ".bin", "tsx");

function runBot(env: Record<string, string>): { status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "surfaces-cli-"));
  const res = spawnSync(tsx, ["src/main.ts", "bot"], {
    cwd: process.cwd(),
    // No inherited SURFACES_* and no .env in the temp cwd of the data dir.
    env: { PATH: process.env["PATH"] ?? "", HOME: dir, ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: res.status, stderr: res.stderr };
}

describe("surfaces bot start-up", () => {
  it("names every bad or missing variable at once and exits 1", () => {
    const { status, stderr } = runBot({ SURFACES_HOMESERVER_URL: "not a url", SURFACES_EDIT_INTERVAL_MS: "-5" });
    expect(status).toBe(1);
    expect(stderr).toContain("SURFACES_HOMESERVER_URL");
    expect(stderr).toContain("SURFACES_BOT_USER_ID");
    expect(stderr).toMatch(/SURFACES_ACCESS_TOKEN|SURFACES_PASSWORD/);
    expect(stderr).toContain("SURFACES_EDIT_INTERVAL_MS");
    expect(stderr).not.toMatch(/\n\s+at /); // one message, no stack trace
  });

  it("names the registry file, the path in it and why", () => {
    const dir = mkdtempSync(join(tmpdir(), "surfaces-reg-"));
    const registry = join(dir, "agents.yaml");
    writeFileSync(registry, 'agents:\n  a1: { base_url: "http://127.0.0.1:1", workspace_path: /agents/a1 }\nuser_agents:\n  "@bob:localhost": nope\n');
    const { status, stderr } = runBot({
      SURFACES_HOMESERVER_URL: "http://127.0.0.1:1",
      SURFACES_BOT_USER_ID: "@bot:localhost",
      SURFACES_ACCESS_TOKEN: "secret-token-value",
      SURFACES_REGISTRY_PATH: registry,
      SURFACES_DATA_DIR: join(dir, "data"),
    });
    expect(status).toBe(1);
    expect(stderr).toContain(registry);
    expect(stderr).toContain('user_agents."@bob:localhost"');
    expect(stderr).toContain("nope");
    expect(stderr).not.toContain("secret-token-value");
  });
});
