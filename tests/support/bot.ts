/**
 * Boots the real application (`start()`) against the shared Synapse with a
 * fresh bot user, a registry written to a temp dir and real agents.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import { start, type App, type StartOptions } from "../../src/app.js";
import { loadConfig } from "../../src/config/env.js";
import type { RegisteredUser } from "../../src/dev/synapse.js";
import { startReferenceAgent, type ReferenceAgent } from "../../src/reference-agent/server.js";
import { e2eEncrypted, ENCRYPTION_STATE } from "./e2e-mode.js";
import { useSynapse } from "./synapse-env.js";

export interface AgentSpec {
  id: string;
  /** An already running agent's base URL; default: a new reference agent. */
  baseUrl?: string;
  workspace?: string;
}

export interface BotFixture {
  app: App;
  bot: RegisteredUser;
  dir: string;
  agents: Map<string, ReferenceAgent>;
  registryPath: string;
  env: NodeJS.ProcessEnv;
  /** Writes the registry again (hot reload picks it up). */
  writeRegistry(agents: AgentSpec[], users: Record<string, string | string[]>): void;
  /** Stops the app (agents stay up) and starts it again on the same data dir. */
  restart(extraEnv?: NodeJS.ProcessEnv): Promise<App>;
  stop(): Promise<void>;
}

export interface BotOptions {
  agents: AgentSpec[];
  /** Matrix user id → agent id(s). */
  users: Record<string, string | string[]>;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Another homeserver than the shared one (e.g. one with default rate limits). */
  synapse?: Pick<ReturnType<typeof useSynapse>, "baseUrl" | "newUser" | "overrideRateLimit">;
  /** Leave the bot under the homeserver's rate limits (default: exempt). */
  rateLimited?: boolean;
  /** Log in with the bot's password (a fresh device) instead of its access token. */
  passwordLogin?: boolean;
  /** Extra start() options (e.g. a small syncTimelineLimit). */
  startOptions?: Omit<StartOptions, "logger">;
}

/** A quiet logger for tests; SURFACES_TEST_LOG=debug shows the bot's logs. */
export const testLogger = (): Logger => pino({ level: process.env["SURFACES_TEST_LOG"] ?? "silent" });

export async function startBot(opts: BotOptions): Promise<BotFixture> {
  const synapse = opts.synapse ?? useSynapse();
  const bot = await synapse.newUser("bot");
  if (!opts.rateLimited) await synapse.overrideRateLimit(bot.userId, { messagesPerSecond: 0, burstCount: 0 });
  const dir = mkdtempSync(join(tmpdir(), "surfaces-e2e-"));
  const agentsRoot = join(dir, "agents");
  const agents = new Map<string, ReferenceAgent>();
  const specs: Array<AgentSpec & { baseUrl: string; workspace: string }> = [];
  for (const spec of opts.agents) {
    const workspace = spec.workspace ?? join(agentsRoot, spec.id);
    mkdirSync(workspace, { recursive: true });
    let baseUrl = spec.baseUrl;
    if (!baseUrl) {
      const agent = await startReferenceAgent({ workspace, logger: testLogger() });
      agents.set(spec.id, agent);
      baseUrl = agent.url;
    }
    specs.push({ ...spec, baseUrl, workspace });
  }
  const registryPath = join(dir, "matrix-agents.yaml");
  const writeRegistry = (list: AgentSpec[], users: Record<string, string | string[]>): void => {
    const lines = ["agents:"];
    for (const a of list) {
      const known = specs.find((s) => s.id === a.id);
      const baseUrl = a.baseUrl ?? known?.baseUrl ?? "http://127.0.0.1:9";
      const workspace = a.workspace ?? known?.workspace ?? join(agentsRoot, a.id);
      lines.push(`  ${a.id}: { base_url: "${baseUrl}", workspace_path: "${workspace}" }`);
    }
    lines.push("user_agents:");
    for (const [user, ids] of Object.entries(users)) lines.push(`  "${user}": ${JSON.stringify(ids)}`);
    writeFileSync(registryPath, `${lines.join("\n")}\n`);
  };
  writeRegistry(specs, opts.users);

  const env: NodeJS.ProcessEnv = {
    SURFACES_HOMESERVER_URL: synapse.baseUrl,
    SURFACES_BOT_USER_ID: bot.userId,
    ...(opts.passwordLogin ? { SURFACES_PASSWORD: bot.password } : { SURFACES_ACCESS_TOKEN: bot.accessToken, SURFACES_DEVICE_ID: bot.deviceId }),
    SURFACES_DATA_DIR: join(dir, "data"),
    SURFACES_REGISTRY_PATH: registryPath,
    SURFACES_AGENTS_ROOT: agentsRoot,
    SURFACES_HTTP_ADDR: "off",
    SURFACES_AGENT_CONNECT_GRACE_MS: "2000",
    SURFACES_EDIT_INTERVAL_MS: "200",
    // Off unless the run is in encrypted mode (e2e-mode.ts): the encrypted
    // files turn it on themselves, with user clients that have crypto.
    SURFACES_ENCRYPT_ROOMS: String(e2eEncrypted()),
    ...opts.env,
  };
  const boot = async (extra: NodeJS.ProcessEnv = {}): Promise<App> => {
    const app = await start(loadConfig({ ...env, ...extra }), { ...opts.startOptions, logger: opts.logger ?? testLogger() });
    await app.ready;
    return app;
  };
  const fixture: BotFixture = {
    app: await boot(),
    bot,
    dir,
    agents,
    registryPath,
    env,
    writeRegistry,
    async restart(extra) {
      await fixture.app.stop();
      fixture.app = await boot(extra);
      return fixture.app;
    },
    async stop() {
      await fixture.app.stop();
      for (const agent of agents.values()) await agent.close();
    },
  };
  return fixture;
}

export interface Onboarded {
  spaceId: string;
  chatRoomId: string;
  lobbyId: string;
}

import { fetchRoomMessages, shownMessages, type RawEvent, type ShownMessage } from "./room-messages.js";
import { startUserClient, type UserClient } from "./user-client.js";

/** Polls `check` until it returns a value (raw API reads are cheap on a local Synapse). */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** The room's state event of `type` as the user sees it, or undefined. */
export async function roomState(baseUrl: string, token: string, roomId: string, type: string, stateKey = ""): Promise<Record<string, unknown> | undefined> {
  const res = await fetch(
    new URL(`/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${encodeURIComponent(type)}/${encodeURIComponent(stateKey)}`, baseUrl),
    { headers: { Authorization: `Bearer ${token}` } },
  );
  return res.ok ? ((await res.json()) as Record<string, unknown>) : undefined;
}

/** Messages the bot shows in a room (edits folded in), oldest first. */
export async function botMessages(baseUrl: string, token: string, roomId: string, bot: string): Promise<ShownMessage[]> {
  return shownMessages(await fetchRoomMessages(baseUrl, token, roomId)).filter((m) => m.sender === bot);
}

/** Waits until a bot message matches; returns it. */
export function waitForBotMessage(
  baseUrl: string,
  token: string,
  roomId: string,
  bot: string,
  match: (m: ShownMessage) => boolean,
  timeoutMs = 30_000,
): Promise<ShownMessage> {
  return eventually(`a bot message in ${roomId}`, async () => (await botMessages(baseUrl, token, roomId, bot)).find(match), timeoutMs);
}

export async function allEvents(baseUrl: string, token: string, roomId: string): Promise<RawEvent[]> {
  return fetchRoomMessages(baseUrl, token, roomId);
}

/**
 * Plays a new user's first minutes: open a room, invite the bot, accept the
 * Space and first chat room it creates. The lobby is encrypted when asked or
 * when the user's client has E2EE (what Element makes of a new DM).
 */
export async function onboard(user: UserClient, token: string, baseUrl: string, bot: string, opts: { encryptedLobby?: boolean } = {}): Promise<Onboarded> {
  const initial_state = opts.encryptedLobby ? [ENCRYPTION_STATE] : [];
  const lobbyId = await user.createRoom({ invite: [bot], name: "lobby", initial_state });
  const spaceId = await user.waitForInvite((r) => r.getType() === "m.space" || r.currentState.getStateEvents("m.room.create", "")?.getContent()["type"] === "m.space", 30_000);
  await user.joinRoom(spaceId);
  const chatRoomId = await eventually("the first chat room invite", async () => {
    for (const room of user.client.getRooms()) {
      if (room.getMyMembership() !== "invite" || room.roomId === spaceId) continue;
      await user.joinRoom(room.roomId);
      const binding = await roomState(baseUrl, token, room.roomId, "org.surfaces.room");
      if (binding?.["kind"] === "chat") return room.roomId;
    }
    return undefined;
  });
  // Onboarding ends with the bot's greeting in the chat room, then its welcome
  // in the lobby; in encrypted rooms they come later (keys go out first), and
  // tests count the messages that follow them.
  for (const roomId of [chatRoomId, lobbyId]) await waitForBotMessage(baseUrl, token, roomId, bot, () => true);
  return { spaceId, chatRoomId, lobbyId };
}

/** A registry user with a bot of their own, already in their Space and first chat room. */
export interface ChatFixture {
  fx: BotFixture;
  user: RegisteredUser;
  client: UserClient;
  rooms: Onboarded;
  stop(): Promise<void>;
}

/**
 * The usual start of an e2e file: a new user mapped to the first agent of
 * `opts.agents`, the bot, the user's client, and the onboarding done.
 */
export async function startChat(opts: Omit<BotOptions, "users"> & { /** Default: SURFACES_E2E_ENCRYPTED. */ encrypted?: boolean }): Promise<ChatFixture> {
  const synapse = useSynapse();
  const user = await synapse.newUser("alice");
  const agentId = opts.agents[0]?.id;
  if (!agentId) throw new Error("startChat needs at least one agent");
  const encrypted = opts.encrypted ?? e2eEncrypted();
  const env = { SURFACES_ENCRYPT_ROOMS: String(encrypted), ...opts.env };
  const fx = await startBot({ ...opts, env, users: { [user.userId]: agentId } });
  const client = await startUserClient(synapse.baseUrl, user, { crypto: encrypted });
  const rooms = await onboard(client, user.accessToken, synapse.baseUrl, fx.bot.userId, { encryptedLobby: encrypted });
  return {
    fx,
    user,
    client,
    rooms,
    async stop() {
      client.stop();
      await fx.stop();
    },
  };
}

/** Who says something in a room, and which bot answers. */
export interface Speaker {
  baseUrl: string;
  token: string;
  bot: string;
  client: UserClient;
}

/** Sends `text` and waits for the first new bot message in the room that matches. */
export async function sayAndWait(
  who: Speaker,
  roomId: string,
  text: string,
  match: (m: ShownMessage) => boolean = () => true,
  timeoutMs = 30_000,
): Promise<ShownMessage> {
  const shown = (): Promise<ShownMessage[]> => botMessages(who.baseUrl, who.token, roomId, who.bot);
  const before = (await shown()).length;
  await who.client.sendText(roomId, text);
  return eventually(`the bot's answer to ${text.slice(0, 40)}`, async () => (await shown()).slice(before).find(match), timeoutMs);
}
