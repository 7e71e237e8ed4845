/**
 * What can be checked about the Dockerfile and both Compose files without a
 * Docker engine: services, build contexts, the agents' workspaces at the
 * paths the registry names (the bot sees all, each agent only its own),
 * start-up gating, healthchecks, and no secrets inline.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadRegistry } from "../../src/config/registry.js";
import { configSchema, envName } from "../../src/config/env-schema.js";

const root = path.resolve(import.meta.dirname, "../..");
const read = (f: string): string => readFileSync(path.join(root, f), "utf8");

interface Service {
  image?: string;
  build?: string | { context: string };
  command?: string[];
  entrypoint?: string[];
  user?: string;
  env_file?: string | string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  restart?: string;
  logging?: { driver: string; options?: Record<string, string> };
  ports?: string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, { external?: boolean; name?: string } | null>;
}

const load = (f: string): Compose => parse(read(f), { merge: true }) as Compose;
const prod = load("docker-compose.prod.yml");
const full = load("docker-compose.fullstack.yml");

/** Mounts as { source, target, ro }. */
const mounts = (s: Service): Array<{ source: string; target: string; ro: boolean }> =>
  (s.volumes ?? []).map((v) => {
    const [source = "", target = "", mode] = v.split(":");
    return { source, target, ro: mode === "ro" };
  });
const mountOf = (s: Service, target: string) => mounts(s).find((m) => m.target === target);
const fileEnv = (f: string): Record<string, string> =>
  Object.fromEntries(
    read(f)
      .split("\n")
      .filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );

const SECRET_NAME = /TOKEN|PASSWORD|SECRET|API_KEY/;
/** Every environment value of a secret-looking variable must be a ${VAR} reference. */
function inlineSecrets(c: Compose): string[] {
  const found: string[] = [];
  for (const [name, s] of Object.entries(c.services)) {
    for (const [k, v] of Object.entries(s.environment ?? {})) {
      if (SECRET_NAME.test(k) && !/^\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}$/.test(String(v))) found.push(`${name}.${k}`);
    }
  }
  return found;
}

describe("Dockerfile", () => {
  const df = read("Dockerfile");
  const stages = df.split(/^FROM /m).slice(1);

  it("is multi-stage on Node 22 slim, production deps only in the final stage, non-root, with a healthcheck", () => {
    expect(df).toMatch(/^ARG NODE_IMAGE=node:22-bookworm-slim$/m);
    expect(stages.length).toBeGreaterThanOrEqual(3);
    for (const s of stages) expect(s.startsWith("${NODE_IMAGE}")).toBe(true);
    const runtime = stages.at(-1) ?? "";
    expect(runtime).not.toMatch(/npm (ci|install)/);
    expect(df).toMatch(/npm ci --omit=dev/);
    expect(runtime).toMatch(/COPY --from=prod-deps \/app\/node_modules/);
    expect(runtime).toMatch(/COPY --from=build \/app\/dist/);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n?.*fetch\(process\.env\.HEALTHCHECK_URL\)/m);
    expect(runtime).toMatch(/HEALTHCHECK_URL=http:\/\/127\.0\.0\.1:9464\/healthz/);
    expect(runtime).toMatch(/^ENTRYPOINT \["node", "dist\/main\.js"\]$/m);
    expect(runtime).toMatch(/^CMD \["bot"\]$/m);
  });

  it("builds what tsconfig.build.json builds, and .dockerignore keeps secrets and local state out", () => {
    expect(df).toMatch(/tsc -p tsconfig\.build\.json/);
    const build = JSON.parse(read("tsconfig.build.json")) as { compilerOptions: { outDir: string } };
    expect(build.compilerOptions.outDir).toBe("dist");
    const ignore = read(".dockerignore").split("\n");
    for (const entry of [".env", "node_modules", ".git", ".venv-synapse", "config/matrix-agents.yaml"]) expect(ignore).toContain(entry);
  });

  it("sets in-image defaults that are valid values of the bot's own env schema", () => {
    const env: Record<string, string> = {};
    for (const m of df.matchAll(/(SURFACES_[A-Z_]+)=(\S+)/g)) env[m[1] ?? ""] = m[2] ?? "";
    expect(Object.keys(env).sort()).toEqual(["SURFACES_AGENTS_ROOT", "SURFACES_DATA_DIR", "SURFACES_HTTP_ADDR", "SURFACES_REGISTRY_PATH"]);
    const byEnv = new Map(Object.entries(configSchema.shape).map(([key, schema]) => [envName(key), schema as { safeParse(v: unknown): { success: boolean } }]));
    for (const [k, v] of Object.entries(env)) expect(byEnv.get(k)?.safeParse(v).success, k).toBe(true);
  });
});

describe("docker-compose.prod.yml", () => {
  const bot = prod.services.bot;

  it("runs the bot alone from this repository's Dockerfile", () => {
    expect(Object.keys(prod.services)).toEqual(["bot"]);
    expect(bot?.build).toBe(".");
    expect(bot?.command).toEqual(["bot"]);
    expect(bot?.env_file).toBe(".env");
  });

  it("mounts the registry read-only, the shared agents volume and a data volume where the env points", () => {
    const env = bot?.environment ?? {};
    const registryDir = path.posix.dirname(env.SURFACES_REGISTRY_PATH ?? "");
    expect(mountOf(bot!, registryDir)).toEqual({ source: "./config", target: "/config", ro: true });
    expect(mountOf(bot!, env.SURFACES_AGENTS_ROOT ?? "")).toEqual({ source: "agents", target: "/agents", ro: false });
    expect(mountOf(bot!, env.SURFACES_DATA_DIR ?? "")).toEqual({ source: "data", target: "/data", ro: false });
    expect(prod.volumes?.agents).toMatchObject({ external: true });
    // The example registry's workspaces lie under the mounted agents root.
    const example = loadRegistry(path.join(root, "config/matrix-agents.example.yaml"), { AGENT_ALICE_TOKEN: "x" });
    for (const a of example.agents.values()) expect(a.workspacePath.startsWith(`${env.SURFACES_AGENTS_ROOT}/`)).toBe(true);
  });

  it("restarts, health-checks /healthz, rotates logs and keeps secrets out of the file", () => {
    expect(bot?.restart).toBe("unless-stopped");
    expect(bot?.healthcheck?.test?.join(" ")).toContain("http://127.0.0.1:9464/healthz");
    expect(bot?.logging).toEqual({ driver: "json-file", options: { "max-size": "10m", "max-file": "5" } });
    expect(bot?.ports).toEqual(["127.0.0.1:9464:9464"]);
    expect(inlineSecrets(prod)).toEqual([]);
    expect(read("docker-compose.prod.yml")).not.toMatch(/SURFACES_(ACCESS_TOKEN|PASSWORD)/);
  });
});

describe("docker-compose.fullstack.yml", () => {
  const s = full.services;
  const registry = loadRegistry(path.join(root, "deploy/matrix-agents.fullstack.yaml"), {
    AGENT_ALICE_TOKEN: "a",
    AGENT_BOB_TOKEN: "b",
  });

  it("has Synapse, Element, the bot, two reference agents, the one-shot jobs, Prometheus and Grafana", () => {
    expect(Object.keys(s).sort()).toEqual(["agent-alice", "agent-bob", "bot", "element", "grafana", "prometheus", "setup", "synapse", "synapse-init"]);
    for (const name of ["bot", "agent-alice", "agent-bob", "setup"]) {
      expect(s[name]?.build, name).toBe(".");
      expect(s[name]?.image, name).toBe("${SURFACES_IMAGE:-surfaces:latest}");
    }
    expect(s.synapse?.image).toMatch(/^\$\{SYNAPSE_IMAGE:-matrixdotorg\/synapse:v\d/);
    expect(s.element?.image).toMatch(/vectorim\/element-web/);
    expect(s.bot?.command).toEqual(["bot"]);
    expect(s["agent-alice"]?.command?.[0]).toBe("agent");
  });

  it("serves each registry agent from a service that mounts only its own workspace, at the registry's path", () => {
    const bot = s.bot!;
    const root = bot.environment?.SURFACES_AGENTS_ROOT ?? "";
    const botAgents = mountOf(bot, root);
    // A host directory, bind-mounted: subdirectories of it can go to each agent on any Compose v2.
    expect(botAgents).toEqual({ source: "./deploy/fullstack/agents", target: "/agents", ro: false });
    expect(full.volumes).not.toHaveProperty("agents");
    expect(read("deploy/fullstack/agents/.gitignore").split("\n")).toContain("*");
    expect(mountOf(bot, bot.environment?.SURFACES_DATA_DIR ?? "")?.source).toBe("bot-data");
    expect(mountOf(bot, path.posix.dirname(bot.environment?.SURFACES_REGISTRY_PATH ?? ""))).toBeUndefined();
    expect(mounts(bot).find((m) => m.target === bot.environment?.SURFACES_REGISTRY_PATH)).toEqual({
      source: "./deploy/matrix-agents.fullstack.yaml",
      target: "/config/matrix-agents.yaml",
      ro: true,
    });

    expect(registry.agents.size).toBe(2);
    const workspaces = (s.setup?.environment?.WORKSPACES ?? "").split(",");
    for (const agent of registry.agents.values()) {
      const host = new URL(agent.baseUrl).hostname;
      const svc = s[host];
      expect(svc, `service ${host}`).toBeDefined();
      expect(svc?.command).toContain(new URL(agent.baseUrl).port);
      // Its own workspace only: the bot's directory for it, at the same path, so paths read the same on both sides.
      expect(mountOf(svc!, root)).toBeUndefined();
      expect(mountOf(svc!, agent.workspacePath)).toEqual({
        source: `${botAgents?.source}/${path.posix.relative(root, agent.workspacePath)}`,
        target: agent.workspacePath,
        ro: false,
      });
      // Nothing else it mounts reaches the agents root or another agent's workspace.
      for (const m of mounts(svc!)) {
        expect(m.source === "agents" || m.source.startsWith(`${botAgents?.source}/`) ? m.target : agent.workspacePath, m.source).toBe(agent.workspacePath);
        for (const other of registry.agents.values()) {
          if (other.id === agent.id) continue;
          const sees = other.workspacePath === m.target || other.workspacePath.startsWith(`${m.target}/`) || m.target === "/";
          expect(sees, `${host} mounts ${m.target}, which holds ${other.workspacePath}`).toBe(false);
        }
      }
      expect(svc?.environment?.AGENT_WORKSPACE).toBe(agent.workspacePath);
      expect(agent.workspacePath.startsWith(`${root}/`)).toBe(true);
      expect(workspaces).toContain(agent.workspacePath);
      expect(mountOf(s.setup!, root)).toEqual(botAgents);
      // setup hands bind-mounted workspaces (maybe created by Docker as root) to the image's user.
      expect(s.setup?.user).toBe("0:0");
      expect(s.setup?.environment?.WORKSPACE_OWNER).toBe("1000:1000");
      // The agent's token comes from the same variable the registry names.
      expect(svc?.environment?.AGENT_TOKEN).toMatch(new RegExp(`^\\$\\{${agent.id.toUpperCase()}_TOKEN|^\\$\\{AGENT_${agent.id.toUpperCase()}_TOKEN`));
    }
    // One agent per demo user.
    expect([...registry.users.keys()].sort()).toEqual(["@alice:localhost", "@bob:localhost"]);
  });

  it("gates start-up on health and on the one-shot jobs", () => {
    expect(s.bot?.depends_on).toEqual({
      synapse: { condition: "service_healthy" },
      setup: { condition: "service_completed_successfully" },
      "agent-alice": { condition: "service_healthy" },
      "agent-bob": { condition: "service_healthy" },
    });
    expect(s.setup?.depends_on).toEqual({ synapse: { condition: "service_healthy" } });
    expect(s.synapse?.depends_on).toEqual({ "synapse-init": { condition: "service_completed_successfully" } });
    expect(s.element?.depends_on).toEqual({ synapse: { condition: "service_healthy" } });
    for (const a of ["agent-alice", "agent-bob"]) {
      expect(s[a]?.depends_on).toEqual({ setup: { condition: "service_completed_successfully" } });
      expect(s[a]?.healthcheck?.test?.join(" ")).toContain("http://127.0.0.1:8080/health");
      expect(s[a]?.environment?.HEALTHCHECK_URL).toBe("http://127.0.0.1:8080/health");
    }
    expect(s.synapse?.healthcheck?.test?.join(" ")).toContain("/health");
    expect(s.bot?.healthcheck?.test?.join(" ")).toContain("/healthz");
    expect(s.setup?.restart).toBe("no");
  });

  it("mounts files that exist, and the setup job gets the credentials it registers from the env file", () => {
    for (const svc of Object.values(s)) {
      for (const m of mounts(svc)) {
        if (!m.source.startsWith("./")) continue;
        // An agent's workspace is created by the setup job; the directory holding them is in the repository.
        const must = m.source.startsWith("./deploy/fullstack/agents/") ? "./deploy/fullstack/agents" : m.source;
        expect(existsSync(path.join(root, must)), m.source).toBe(true);
      }
    }
    const example = fileEnv("deploy/fullstack/fullstack.env.example");
    const setup = read("deploy/fullstack/setup.mjs");
    for (const name of setup.matchAll(/env\("([A-Z_]+)"\)/g)) {
      const v = name[1] ?? "";
      expect(v in example || v in (s.setup?.environment ?? {}), v).toBe(true);
    }
    expect(setup).toContain("/override_ratelimit");
    // Every ${VAR} the compose file needs is documented in the example env file.
    const body = read("docker-compose.fullstack.yml").split("\n").filter((l) => !/^\s*#/.test(l)).join("\n");
    for (const m of body.matchAll(/\$\{([A-Z_]+)(:?[-?])?/g)) {
      const v = m[1] ?? "";
      if (!v.endsWith("_IMAGE")) expect(v in example, v).toBe(true);
    }
  });

  it("keeps secrets out of the compose file and blank in the example env file", () => {
    expect(inlineSecrets(full)).toEqual([]);
    for (const [k, v] of Object.entries(fileEnv("deploy/fullstack/fullstack.env.example"))) {
      if (SECRET_NAME.test(k)) expect(v, k).toBe("");
    }
    const hs = read("deploy/fullstack/synapse/homeserver.yaml");
    expect(hs).not.toMatch(/^(registration_shared_secret|macaroon_secret_key|form_secret):/m);
    expect(hs).toMatch(/^registration_shared_secret_path: /m);
  });
});
