import { describe, expect, it } from "vitest";
import path from "node:path";
import { ConfigError, loadConfig, redactConfig } from "../../src/config/env.js";

const minimal = {
  SURFACES_HOMESERVER_URL: "https://matrix.example.org/",
  SURFACES_BOT_USER_ID: "@bot:example.org",
  SURFACES_ACCESS_TOKEN: "syt_secret",
};

function problemsOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("applies every default", () => {
    const cfg = loadConfig(minimal);
    expect(cfg).toEqual({
      homeserverUrl: "https://matrix.example.org",
      botUserId: "@bot:example.org",
      accessToken: "syt_secret",
      dataDir: path.resolve("./data"),
      registryPath: path.resolve("config/matrix-agents.yaml"),
      agentsRoot: "/agents",
      logLevel: "info",
      turnIdleTimeoutMs: 120_000,
      editIntervalMs: 1_000,
      agentConnectGraceMs: 5_000,
      agentWaitMs: 180_000,
      confirmTimeoutMs: 300_000,
      trailMaxTools: 20,
      turnMaxAnswerBytes: 1_048_576,
      turnMaxFiles: 20,
      turnMaxConfirms: 5,
      turnMaxMs: 3_600_000,
      stopGraceMs: 5_000,
      agentMaxFramesPerSec: 5_000,
      httpAddr: { host: "127.0.0.1", port: 9464 },
      fileMode: 0o644,
      minFreeBytes: 512 * 1024 * 1024,
      userQuotaBytes: 2 * 1024 * 1024 * 1024,
      encryptRooms: true,
      decryptGraceMs: 10_000,
      initialSync: "sliding",
    });
  });

  it("reads every variable when set", () => {
    const cfg = loadConfig({
      SURFACES_HOMESERVER_URL: "http://127.0.0.1:8008",
      SURFACES_BOT_USER_ID: "@surfaces:localhost:8448",
      SURFACES_PASSWORD: "hunter2",
      SURFACES_DEVICE_ID: "DEVICE1",
      SURFACES_DATA_DIR: "/var/lib/surfaces",
      SURFACES_REGISTRY_PATH: "/etc/surfaces/agents.yaml",
      SURFACES_AGENTS_ROOT: "/srv/agents/",
      SURFACES_LOG_LEVEL: "debug",
      SURFACES_TURN_IDLE_TIMEOUT_MS: "30000",
      SURFACES_EDIT_INTERVAL_MS: "250",
      SURFACES_AGENT_CONNECT_GRACE_MS: "100",
      SURFACES_AGENT_WAIT_MS: "0",
      SURFACES_TRAIL_MAX_TOOLS: "0",
      SURFACES_TURN_MAX_ANSWER_BYTES: "65536",
      SURFACES_TURN_MAX_FILES: "0",
      SURFACES_TURN_MAX_CONFIRMS: "2",
      SURFACES_TURN_MAX_MS: "60000",
      SURFACES_STOP_GRACE_MS: "1500",
      SURFACES_AGENT_MAX_FRAMES_PER_SEC: "200",
      SURFACES_HTTP_ADDR: "[::1]:0",
      SURFACES_MAX_FILE_BYTES: "1048576",
      SURFACES_FILE_UID: "0",
      SURFACES_FILE_GID: "1000",
      SURFACES_FILE_MODE: "0600",
      SURFACES_ENCRYPT_ROOMS: "false",
      SURFACES_DECRYPT_GRACE_MS: "0",
      SURFACES_RECOVERY_KEY: "EsT0 abcd",
    });
    expect(cfg).toMatchObject({
      homeserverUrl: "http://127.0.0.1:8008",
      botUserId: "@surfaces:localhost:8448",
      password: "hunter2",
      deviceId: "DEVICE1",
      dataDir: "/var/lib/surfaces",
      registryPath: "/etc/surfaces/agents.yaml",
      agentsRoot: "/srv/agents",
      logLevel: "debug",
      turnIdleTimeoutMs: 30_000,
      editIntervalMs: 250,
      agentConnectGraceMs: 100,
      agentWaitMs: 0,
      trailMaxTools: 0,
      turnMaxAnswerBytes: 65_536,
      turnMaxFiles: 0,
      turnMaxConfirms: 2,
      turnMaxMs: 60_000,
      stopGraceMs: 1_500,
      agentMaxFramesPerSec: 200,
      httpAddr: { host: "::1", port: 0 },
      maxFileBytes: 1_048_576,
      fileUid: 0,
      fileGid: 1000,
      fileMode: 0o600,
      encryptRooms: false,
      decryptGraceMs: 0,
      recoveryKey: "EsT0 abcd",
    });
    expect(cfg.accessToken).toBeUndefined();
  });

  it('turns SURFACES_HTTP_ADDR=off into null and treats blank values as unset', () => {
    const cfg = loadConfig({ ...minimal, SURFACES_HTTP_ADDR: "off", SURFACES_LOG_LEVEL: "", SURFACES_PASSWORD: "  " });
    expect(cfg.httpAddr).toBeNull();
    expect(cfg.logLevel).toBe("info");
  });

  it("names every missing required variable in one error", () => {
    const err = problemsOf({});
    expect(err.problems.map((p) => p.envVar)).toEqual([
      "SURFACES_HOMESERVER_URL",
      "SURFACES_BOT_USER_ID",
      "SURFACES_ACCESS_TOKEN / SURFACES_PASSWORD",
    ]);
    expect(err.message).toContain("  - homeserverUrl (SURFACES_HOMESERVER_URL): is required");
    expect(err.message).toContain("  - botUserId (SURFACES_BOT_USER_ID): is required");
    expect(err.message).toMatch(/accessToken\/password \(SURFACES_ACCESS_TOKEN \/ SURFACES_PASSWORD\): neither is set/);
  });

  it("names every bad value at once, one per line", () => {
    const err = problemsOf({
      SURFACES_HOMESERVER_URL: "matrix.example.org",
      SURFACES_BOT_USER_ID: "bot",
      SURFACES_ACCESS_TOKEN: "a",
      SURFACES_PASSWORD: "b",
      SURFACES_AGENTS_ROOT: "agents",
      SURFACES_LOG_LEVEL: "loud",
      SURFACES_TURN_IDLE_TIMEOUT_MS: "0",
      SURFACES_EDIT_INTERVAL_MS: "-5",
      SURFACES_AGENT_CONNECT_GRACE_MS: "1.5",
      SURFACES_HTTP_ADDR: "localhost",
      SURFACES_MAX_FILE_BYTES: "10MB",
      SURFACES_FILE_UID: "-1",
      SURFACES_FILE_GID: "x",
      SURFACES_FILE_MODE: "0999",
      SURFACES_ENCRYPT_ROOMS: "yes",
    });
    const named = err.problems.map((p) => p.key);
    expect(named).toEqual([
      "homeserverUrl",
      "botUserId",
      "agentsRoot",
      "logLevel",
      "turnIdleTimeoutMs",
      "editIntervalMs",
      "agentConnectGraceMs",
      "httpAddr",
      "maxFileBytes",
      "fileUid",
      "fileGid",
      "fileMode",
      "encryptRooms",
      "accessToken/password",
    ]);
    const lines = err.message.split("\n");
    expect(lines[0]).toBe("Invalid configuration (14 problems):");
    expect(lines).toHaveLength(15);
    expect(err.message).toContain("  - turnIdleTimeoutMs (SURFACES_TURN_IDLE_TIMEOUT_MS): must be a positive whole number");
    expect(err.message).toContain("  - fileMode (SURFACES_FILE_MODE): must be an octal file mode such as 0644");
    expect(err.message).toContain('  - encryptRooms (SURFACES_ENCRYPT_ROOMS): must be "true" or "false"');
    expect(err.message).toContain("both are set");
  });

  it("rejects non-http homeserver URLs", () => {
    const err = problemsOf({ ...minimal, SURFACES_HOMESERVER_URL: "ftp://matrix.example.org" });
    expect(err.problems).toEqual([
      expect.objectContaining({ key: "homeserverUrl", envVar: "SURFACES_HOMESERVER_URL" }),
    ]);
  });
});

describe("redactConfig", () => {
  it("replaces the secrets and keeps the rest", () => {
    const withToken = loadConfig(minimal);
    const red = redactConfig(withToken);
    expect(red.accessToken).toBe("[redacted]");
    expect(red.homeserverUrl).toBe("https://matrix.example.org");
    expect(JSON.stringify(red)).not.toContain("syt_secret");
    expect(withToken.accessToken).toBe("syt_secret"); // a copy, not the original

    const withPassword = loadConfig({ ...minimal, SURFACES_ACCESS_TOKEN: undefined, SURFACES_PASSWORD: "pw" });
    const red2 = redactConfig(withPassword);
    expect(red2.password).toBe("[redacted]");
    expect("accessToken" in red2).toBe(false);
  });
});

describe("loadDotenv", () => {
  it("loads a .env file without overriding variables already set", async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { loadDotenv } = await import("../../src/config/env.js");
    const dir = mkdtempSync(path.join(tmpdir(), "surfaces-dotenv-"));
    const file = path.join(dir, ".env");
    writeFileSync(file, "SURFACES_TEST_FROM_FILE=file\nSURFACES_TEST_ALREADY_SET=file\n");
    process.env.SURFACES_TEST_ALREADY_SET = "env";
    try {
      loadDotenv(file);
      expect(process.env.SURFACES_TEST_FROM_FILE).toBe("file");
      expect(process.env.SURFACES_TEST_ALREADY_SET).toBe("env");
      loadDotenv(path.join(dir, "missing.env")); // a missing file is not an error
    } finally {
      delete process.env.SURFACES_TEST_FROM_FILE;
      delete process.env.SURFACES_TEST_ALREADY_SET;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
