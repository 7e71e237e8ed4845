import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { MatrixClient } from "matrix-js-sdk";
import type { Logger } from "pino";
import { createAgentPool, type AgentPoolOptions } from "./agents/pool.js";
import type { AppConfig } from "./config/env.js";
import type { Registry } from "./config/registry.js";
import { watchRegistry, type RegistryWatch } from "./config/registry-watcher.js";
import type { AgentEndpoint, AgentPort } from "./core/agent-port.js";
import { Dispatcher, type DispatcherDeps } from "./core/dispatcher.js";
import type { AgentId, EventId, UserId } from "./core/ids.js";
import type { IncomingEvent } from "./core/incoming.js";
import { recoverAfterStart } from "./core/recovery.js";
import { startHttpServer, type HttpServer } from "./http/server.js";
import { appReadiness, type Readiness } from "./http/readiness.js";
import { sweepInboxes } from "./files/sweep.js";
import { createLogger } from "./logger.js";
import type { MatrixChatAdapter } from "./matrix/chat-adapter.js";
import { attachIntake } from "./matrix/intake.js";
import { createMediaPort } from "./matrix/media-port.js";
import { discoverBindings } from "./matrix/reconcile.js";
import { releaseStartupGarbage } from "./matrix/startup-garbage.js";
import { setUpEncryptionIdentity } from "./matrix/cross-signing.js";
import { openMatrixSession } from "./matrix/matrix-session.js";
import { parseRecoveryKey } from "./matrix/recovery.js";
import { Metrics } from "./observability/metrics.js";
import { observeAgentPort } from "./observability/observed-agents.js";
import { pruneLedgerHourly } from "./store/ledger-pruning.js";
import { newChatId, openStore, type Store } from "./store/index.js";

export interface App {
  config: AppConfig;
  logger: Logger;
  store: Store;
  client: MatrixClient;
  agents: AgentPort;
  registry: RegistryWatch;
  dispatcher: Dispatcher;
  chat: MatrixChatAdapter;
  /** Resolves once the first sync is done, state is rebuilt and messages flow. */
  ready: Promise<void>;
  isReady(): boolean;
  /** What /readyz answers: synced, store open, registry loaded. */
  readiness(): Readiness;
  metrics: Metrics;
  /** The health/metrics listener; null when SURFACES_HTTP_ADDR=off. */
  http: HttpServer | null;
  /** Stops syncing, lets running turns end, flushes state, closes everything. */
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /**
   * Timeline events per room in a first sync (default 1): they are history,
   * recorded, never answered; the newest is the fence a later gap backfill
   * stops at.
   */
  initialSyncLimit?: number;
  /** Timeline events per room in later syncs before a gap is backfilled (default SYNC_TIMELINE_LIMIT). */
  syncTimelineLimit?: number;
}

/** How long after readiness the first sync's garbage is collected (startup-garbage.ts). */
const STARTUP_GC_DELAY_MS = 1_000;
/** The longest the collection waits for the encrypted rooms' settings to reach the crypto. */
const STARTUP_GC_MAX_WAIT_MS = 120_000;

const endpointsOf = (registry: Registry): Map<AgentId, AgentEndpoint> =>
  new Map([...registry.agents].map(([id, a]) => [id, { baseUrl: a.baseUrl, ...(a.token ? { token: a.token } : {}) }]));

/** The agent pool's settings, from the configuration. */
function agentPoolOptions(config: AppConfig, logger: Logger, metrics: Metrics): AgentPoolOptions {
  return {
    logger: logger.child({ component: "agents" }),
    connectGraceMs: config.agentConnectGraceMs,
    idleTimeoutMs: config.turnIdleTimeoutMs,
    // A backstop only: the dispatcher's own timer answers first and tells the user.
    confirmTimeoutMs: config.confirmTimeoutMs + 10_000,
    turnLimits: {
      maxAnswerBytes: config.turnMaxAnswerBytes,
      maxFiles: config.turnMaxFiles,
      maxConfirms: config.turnMaxConfirms,
      maxTurnMs: config.turnMaxMs,
      cancelGraceMs: config.stopGraceMs,
    },
    maxFramesPerSecond: config.agentMaxFramesPerSec,
    onConnected: (agentId, again) => again && metrics.agentReconnects.inc({ agent: agentId }),
  };
}

/** The dispatcher's settings and registry look-ups (the ports are added by start()). */
function dispatcherOptions(config: AppConfig, registry: RegistryWatch, logger: Logger) {
  return {
    botUserId: config.botUserId,
    logger,
    idleTimeoutMs: config.turnIdleTimeoutMs,
    agentWaitMs: config.agentWaitMs,
    confirmTimeoutMs: config.confirmTimeoutMs,
    editIntervalMs: config.editIntervalMs,
    trailMaxTools: config.trailMaxTools,
    newChatId,
    agentsFor: (user: UserId) => registry.current().agentsFor(user),
    agentKnown: (id: AgentId) => registry.current().agent(id) !== undefined,
    serverHostsUsers: (server: string) => [...registry.current().users.keys()].some((u) => u.endsWith(`:${server}`)),
  } satisfies Partial<DispatcherDeps>;
}

/** Builds and starts the whole bot; `main` and the end-to-end tests both call this. */
export async function start(config: AppConfig, options: StartOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel);
  let agents: AgentPort | undefined;
  const metrics = new Metrics();
  const registry = watchRegistry(config.registryPath, {
    logger,
    ...(options.env ? { env: options.env } : {}),
    onChange: (reg) => agents?.setAgents(endpointsOf(reg)),
  });
  mkdirSync(config.dataDir, { recursive: true });
  const store = openStore(join(config.dataDir, "surfaces.db"));
  agents = createAgentPool(agentPoolOptions(config, logger, metrics));
  agents.setAgents(endpointsOf(registry.current()));

  let ready = false;
  let stopped = false;
  const readiness = (): Readiness =>
    appReadiness({
      synced: () => ready,
      stopping: () => stopped,
      probeStore: () => void store.kv.get("readyz.probe"),
      registryAgents: () => registry.current().agents.size,
    });
  // Up before the first sync so liveness probes pass while a large account syncs.
  const http = config.httpAddr ? await startHttpServer({ addr: config.httpAddr, logger, readiness, metrics }) : null;

  // A malformed recovery key stops the start before anything else happens.
  const recoveryKey = config.recoveryKey !== undefined ? parseRecoveryKey(config.recoveryKey) : undefined;
  const matrix = await openMatrixSession({
    ...config,
    ...(recoveryKey && { recoveryPrivateKey: recoveryKey }),
    persistence: { get: (k) => store.kv.get(k), set: (k, v) => store.kv.set(k, v), delete: (k) => void store.kv.delete(k) },
    logger,
    onRateLimited: () => metrics.rateLimited.inc(),
    onSent: (ms) => metrics.sendLatency.observe(ms / 1000),
    onFirstVisible: (ms) => metrics.firstVisible.observe(ms / 1000),
    ...(options.initialSyncLimit !== undefined && { initialSyncLimit: options.initialSyncLimit }),
  });
  const { client, chat } = matrix;
  const media = createMediaPort(config, client, matrix.sender, (id) => registry.current().agent(id)?.workspacePath, logger, metrics, store.media);
  const dispatcher = new Dispatcher({ ...dispatcherOptions(config, registry, logger), chat, agents: observeAgentPort(agents, metrics), store, media });
  metrics.bindSources({ queueDepth: () => dispatcher.loop.depth(), agentIds: () => registry.current().agents.keys(), agents });
  // The agent's own notify id makes a repeated notify idempotent; without one, each notify is its own.
  agents.onNotify((agentId, chatId, text, notifyId) => {
    void dispatcher.notify(agentId, chatId, text, `notify.${agentId}.${chatId}.${notifyId ?? randomUUID()}`);
  });

  // Every event is recorded in the ledger before it is handled; until the
  // first sync is in and the rooms are known, recorded events wait there.
  const record = (ev: IncomingEvent): boolean =>
    store.inbox.record({ eventId: ev.eventId, roomId: ev.roomId, sender: ev.sender, content: ev, originTs: Date.now() });
  const decryption = attachIntake(client, matrix.hadSavedSync, logger, {
    // While stopping, new events are recorded and left pending for the next start.
    onEvent: (ev) => void (record(ev) && ready && !stopped && dispatcher.enqueue(ev)),
    onHistorical: (ev) => void (record(ev) && store.inbox.setStatus(ev.eventId, "ignored")),
    known: (eventId) => store.inbox.has(eventId as EventId),
  }, { decryptGraceMs: config.decryptGraceMs, historyFloor: matrix.historyFloor });

  let stopPruning = (): void => undefined;
  let identity: Promise<unknown> = Promise.resolve();
  const readyPromise = new Promise<void>((resolve) => {
    void matrix.startSyncing({ ...(options.syncTimelineLimit !== undefined && { timelineLimit: options.syncTimelineLimit }) }, () => {
      recoverAfterStart({ store, chat, dispatcher, logger }, discoverBindings(client));
      ready = true;
      stopPruning = pruneLedgerHourly(store, logger);
      void sweepInboxes(registry.current().agents.values(), logger);
      identity = setUpEncryptionIdentity({
        client,
        userId: config.botUserId,
        ...(config.password && { password: config.password }),
        ...(recoveryKey && { recoveryKey }),
        logger,
        stopping: () => stopped,
      });
      logger.info({ rooms: store.rooms.count() }, "ready");
      // After the sync position's first write (the next event-loop turn) and the encrypted rooms'
      // settings handed to the crypto after readiness: the last of the start-up burst.
      const handedOver = Promise.race([matrix.roomCrypto.settingsHandedOver(), new Promise((r) => setTimeout(r, STARTUP_GC_MAX_WAIT_MS).unref())]);
      void handedOver.then(() => setTimeout(() => !stopped && releaseStartupGarbage(logger), STARTUP_GC_DELAY_MS).unref());
      resolve();
    });
  });

  return {
    config,
    logger,
    store,
    client,
    agents,
    registry,
    dispatcher,
    chat,
    ready: readyPromise,
    isReady: () => ready,
    readiness,
    metrics,
    http,
    async stop() {
      if (stopped) return;
      stopped = true;
      stopPruning();
      const stopCrypto = matrix.stopSyncing();
      const decrypting = decryption.stop();
      dispatcher.turns.close(); // messages waiting for a down agent give up (with a notice)
      dispatcher.loop.close(); // messages waiting for a running turn stay pending
      await Promise.race([dispatcher.loop.drain(), new Promise((r) => setTimeout(r, 10_000))]);
      // The wasm crypto must not be freed under a call still running in it.
      await Promise.race([Promise.all([decrypting, matrix.roomCrypto.close(), identity]), new Promise((r) => setTimeout(r, 10_000))]);
      stopCrypto();
      matrix.stop();
      dispatcher.confirmations.stop();
      registry.close();
      await agents.close();
      store.close();
      await http?.close();
      logger.info("stopped");
    },
  };
}

export { INITIAL_SYNC_LIMIT, SYNC_TIMELINE_LIMIT, syncFilterDefinition } from "./matrix/matrix-session.js";
export { LEDGER_KEEP_MS } from "./store/ledger-pruning.js";
