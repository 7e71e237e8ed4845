/**
 * `surfaces stack`: everything on 127.0.0.1 for trying the bot — a real
 * Synapse (kept in .stack/ between runs), the reference agent and the bot —
 * then prints how to log in. Logs are readable lines on a terminal and JSON
 * when piped or with NODE_ENV=production. `--smoke` also plays the demo user once
 * (invite → Space → "hello" → answer) and exits, to prove the stack works.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { resolve, join } from "node:path";
import { start, type App } from "../app.js";
import { loadConfig } from "../config/env.js";
import { startSynapse, loginWithPassword, registerWithSharedSecret, type RegisteredUser, type SynapseHandle } from "../dev/synapse.js";
import { createLogger, readableDestination, wantsReadableLogs } from "../logger.js";
import { startReferenceAgent, type ReferenceAgent } from "../reference-agent/server.js";
import { runSmoke } from "./stack-smoke.js";

const DEMO_PASSWORD = "demo-password";

export async function runStack(argv: string[]): Promise<void> {
  const smoke = argv.includes("--smoke");
  const root = resolve(process.env["SURFACES_STACK_DIR"] ?? ".stack");
  const readable = wantsReadableLogs(process.stdout, process.env);
  const logger = createLogger(process.env["SURFACES_LOG_LEVEL"] ?? "info", readable ? await readableDestination() : undefined);
  mkdirSync(root, { recursive: true });

  const synapse = await startSynapse({ dir: join(root, "synapse"), port: 8008, logger });
  const credsFile = join(root, "credentials.json");
  const saved = existsSync(credsFile) ? (JSON.parse(readFileSync(credsFile, "utf8")) as Record<string, string>) : {};
  const botPassword = saved["botPassword"] ?? cryptoPassword();
  writeFileSync(credsFile, JSON.stringify({ botPassword }, null, 2), { mode: 0o600 });
  await ensureUser(synapse, "surfaces-bot", botPassword);
  await synapse.overrideRateLimit(`@surfaces-bot:${synapse.serverName}`, { messagesPerSecond: 0, burstCount: 0 });
  const demo = await ensureUser(synapse, "demo", DEMO_PASSWORD);

  const workspace = join(root, "agents", "demo");
  mkdirSync(workspace, { recursive: true });
  const agent = await startReferenceAgent({ workspace, logger: logger.child({ component: "reference-agent" }) });
  const registryPath = join(root, "matrix-agents.yaml");
  writeFileSync(
    registryPath,
    [
      "# Written by `surfaces stack`; edit freely while it runs (hot reload).",
      "agents:",
      `  demo: { base_url: "${agent.url}", workspace_path: "${workspace}" }`,
      "user_agents:",
      `  "${demo.userId}": demo`,
      "",
    ].join("\n"),
  );

  const config = loadConfig({
    ...process.env,
    SURFACES_HOMESERVER_URL: synapse.baseUrl,
    SURFACES_BOT_USER_ID: `@surfaces-bot:${synapse.serverName}`,
    SURFACES_PASSWORD: botPassword,
    SURFACES_ACCESS_TOKEN: undefined,
    SURFACES_DATA_DIR: join(root, "data"),
    SURFACES_REGISTRY_PATH: registryPath,
    SURFACES_AGENTS_ROOT: join(root, "agents"),
    // The smoke user speaks the raw client-server API, without crypto.
    ...(smoke && { SURFACES_ENCRYPT_ROOMS: "false" }),
  });
  const app = await start(config, { logger });
  await app.ready;

  const stopAll = async (): Promise<void> => {
    await app.stop();
    await agent.close();
    await synapse.stop();
  };
  if (smoke) {
    try {
      const answer = await runSmoke(synapse.baseUrl, demo, config.botUserId);
      process.stdout.write(`smoke: the agent answered "${answer}"\n`);
    } finally {
      await stopAll();
    }
    return;
  }
  printLogin(synapse, demo.userId, config.botUserId, agent, app);
  const { onSignals } = await import("../main-signals.js");
  onSignals(stopAll);
}

async function ensureUser(synapse: SynapseHandle, localpart: string, password: string): Promise<RegisteredUser> {
  try {
    return await registerWithSharedSecret(synapse.baseUrl, synapse.sharedSecret, localpart, password);
  } catch {
    return loginWithPassword(synapse.baseUrl, `@${localpart}:${synapse.serverName}`, password);
  }
}

function cryptoPassword(): string {
  return `bot-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
}

function printLogin(synapse: SynapseHandle, demoUser: string, bot: string, agent: ReferenceAgent, app: App): void {
  const lines = [
    "",
    "Surfaces local stack is up.",
    `  homeserver   ${synapse.baseUrl}   (server name "${synapse.serverName}")`,
    `  log in as    ${demoUser}   password: ${DEMO_PASSWORD}`,
    `  then invite  ${bot}   to any room (or start a DM with it)`,
    `  agent        ${agent.url}   workspace ${app.config.agentsRoot}/demo`,
    "  Any Matrix client works, e.g. Element Web/Desktop with a custom homeserver URL.",
    "  Ctrl-C stops everything; state is kept in .stack/ for the next run.",
    "",
  ];
  process.stdout.write(lines.join("\n"));
}
