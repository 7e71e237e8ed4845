/**
 * The benchmark world: one private Synapse with raised limits, a reference
 * agent, users, rooms provisioned directly over the client-server API (the
 * bot's onboarding is not what is measured), and the bot / floor echo client
 * as child processes.
 */
import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { configPaths } from "../../src/dev/synapse-config.js";
import { loginWithPassword, startSynapse, type SynapseHandle, type SynapseTopology } from "../../src/dev/synapse.js";
import { startReferenceAgent, type ReferenceAgent } from "../../src/reference-agent/server.js";
import { BINDING_EVENT, ENCRYPTION_STATE } from "../../src/matrix/provisioning.js";
import { newChatId } from "../../src/store/index.js";
import { spawnChild, type ChildHandle } from "./child.js";
import { Cs } from "./cs-api.js";
import { homeserverCpu, type HomeserverCpu } from "./proc.js";

export const AGENT_ID = "echo";

export interface BenchWorld {
  synapse: SynapseHandle;
  agent: ReferenceAgent;
  workspace: string;
  dir: string;
  /** The main Synapse process. */
  synapsePid(): number;
  /** CPU snapshot of every homeserver process (Synapse, and PostgreSQL/Redis/nginx where they serve it). */
  homeserverCpu(): HomeserverCpu;
  newUser(localpart: string): Promise<Cs>;
  /** A bot account exempt from rate limits (override 0/0). */
  newBot(localpart: string): Promise<Cs>;
  /** A new login (a new device) of an account this world registered. */
  newDevice(user: Cs): Promise<Cs>;
  /** Spawns the bot on `bot`'s account; `users` may talk to the echo agent (and to `extraAgents`). */
  spawnBot(bot: Cs, users: readonly string[], name: string, extraEnv?: NodeJS.ProcessEnv, extraAgents?: Record<string, string>): ChildHandle;
  /** A reference agent in a child process of its own, with its own workspace. */
  spawnAgent(id: string): ChildHandle;
  spawnEcho(echo: Cs): ChildHandle;
  close(): Promise<void>;
}

/**
 * `synapseDir` keeps the homeserver (and its users and rooms) between runs:
 * an account registered by an earlier run is logged into instead.
 */
export async function createWorld(topology: SynapseTopology = "sqlite", synapseDir?: string): Promise<BenchWorld> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "surfaces-bench-"));
  const logger = pino({ level: "silent" });
  const synapse = await startSynapse({ maxUploadSize: "300M", logger, topology, accessLog: process.env["BENCH_ACCESS_LOG"] === "1", ...(synapseDir && { dir: synapseDir }) });
  const agentsRoot = path.join(dir, "agents");
  const workspace = path.join(agentsRoot, AGENT_ID);
  mkdirSync(workspace, { recursive: true });
  const agent = await startReferenceAgent({ workspace, logger });
  const children: ChildHandle[] = [];
  // Derived passwords let a later run over a kept Synapse log in again.
  const password = (localpart: string): string => createHmac("sha256", synapse.sharedSecret).update(localpart).digest("hex");
  const register = async (localpart: string): Promise<Cs> => {
    const u = await synapse.registerUser(localpart, password(localpart)).catch(async (err: unknown) => {
      if (!synapseDir || !/M_USER_IN_USE/.test(String(err))) throw err;
      return loginWithPassword(synapse.baseUrl, `@${localpart}:${synapse.serverName}`, password(localpart));
    });
    return new Cs(synapse.baseUrl, u.accessToken, u.userId);
  };
  return {
    synapse,
    agent,
    workspace,
    dir,
    synapsePid: () => findPid(configPaths(synapse.dir).config),
    homeserverCpu: () => homeserverCpu(synapse.dir, synapse.postgresDatabase),
    newUser: register,
    async newBot(localpart) {
      const bot = await register(localpart);
      await synapse.overrideRateLimit(bot.userId, { messagesPerSecond: 0, burstCount: 0 });
      return bot;
    },
    async newDevice(user) {
      const u = await loginWithPassword(synapse.baseUrl, user.userId, password(user.userId.slice(1).split(":")[0] ?? ""));
      return new Cs(synapse.baseUrl, u.accessToken, u.userId);
    },
    spawnBot(bot, users, name, extraEnv = {}, extraAgents = {}) {
      const home = path.join(dir, name);
      mkdirSync(home, { recursive: true });
      const registryPath = path.join(home, "matrix-agents.yaml");
      const lines = ["agents:", `  ${AGENT_ID}: { base_url: "${agent.url}", workspace_path: "${workspace}" }`];
      for (const [id, url] of Object.entries(extraAgents)) lines.push(`  ${id}: { base_url: "${url}", workspace_path: "${path.join(agentsRoot, id)}" }`);
      lines.push("user_agents:");
      const ids = JSON.stringify([AGENT_ID, ...Object.keys(extraAgents)]);
      for (const u of users) lines.push(`  "${u}": ${ids}`);
      writeFileSync(registryPath, `${lines.join("\n")}\n`);
      const child = spawnChild(
        "bot-child",
        {
          SURFACES_HOMESERVER_URL: synapse.baseUrl,
          SURFACES_BOT_USER_ID: bot.userId,
          SURFACES_ACCESS_TOKEN: bot.token,
          SURFACES_DATA_DIR: path.join(home, "data"),
          SURFACES_REGISTRY_PATH: registryPath,
          SURFACES_AGENTS_ROOT: agentsRoot,
          SURFACES_HTTP_ADDR: "off",
          SURFACES_LOG_LEVEL: "info",
          SURFACES_MAX_FILE_BYTES: String(250 * 1024 * 1024),
          ...extraEnv,
        },
        path.join(home, "bot.log"),
      );
      children.push(child);
      return child;
    },
    spawnAgent(id) {
      const agentWorkspace = path.join(agentsRoot, id);
      mkdirSync(agentWorkspace, { recursive: true });
      const child = spawnChild("agent-child", { AGENT_WORKSPACE: agentWorkspace }, path.join(dir, `agent-${id}.log`));
      children.push(child);
      return child;
    },
    spawnEcho(echo) {
      const child = spawnChild("echo-child", { ECHO_BASE_URL: synapse.baseUrl, ECHO_TOKEN: echo.token, ECHO_USER_ID: echo.userId }, path.join(dir, "echo.log"));
      children.push(child);
      return child;
    },
    async close() {
      for (const c of children) await c.stop().catch(() => undefined);
      await agent.close();
      await synapse.dispose();
    },
  };
}

/** The process whose command line names `arg` (Synapse writes no pid file in the foreground). */
function findPid(arg: string): number {
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      // Workers name the same homeserver.yaml; the main process is the homeserver app.
      if (cmd.includes(arg) && cmd.includes("synapse.app.homeserver")) return Number(name);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no process runs with ${arg}`);
}

/** A chat room as the bot would create it (binding state by the bot), the owner invited and joined. */
export async function provisionChat(bot: Cs, owner: Cs | string, index = 1, agentId = AGENT_ID, opts: { encrypted?: boolean } = {}): Promise<string> {
  const ownerId = typeof owner === "string" ? owner : owner.userId;
  const roomId = await bot.createRoom({
    name: `bench ${index}`,
    preset: "private_chat",
    ...(typeof owner !== "string" && { invite: [ownerId] }),
    initial_state: [
      {
        type: BINDING_EVENT,
        state_key: "",
        content: { owner: ownerId, kind: "chat", agent_id: agentId, platform_chat_id: newChatId(), index, archived: false },
      },
      ...(opts.encrypted ? [ENCRYPTION_STATE] : []),
    ],
  });
  if (typeof owner !== "string") await owner.join(roomId);
  return roomId;
}

/** A room the user opens with the floor echo client. */
export async function provisionEchoRoom(user: Cs, echo: Cs): Promise<string> {
  const roomId = await user.createRoom({ preset: "private_chat", invite: [echo.userId] });
  await echo.join(roomId);
  return roomId;
}

/** A room of `creator` that `member` joined, with no binding. */
export async function provisionPlain(creator: Cs, member: Cs): Promise<string> {
  const roomId = await creator.createRoom({ preset: "private_chat", invite: [member.userId] });
  await member.join(roomId);
  return roomId;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T, i);
      }
    }),
  );
  return out;
}
