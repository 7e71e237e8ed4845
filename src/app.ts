import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ClientEvent, Filter, SyncState, type SyncStateData, type MatrixClient } from "matrix-js-sdk";
import type { Logger } from "pino";
import { createAgentPool } from "./agents/pool.js";
import type { AppConfig } from "./config/env.js";
import type { Registry } from "./config/registry.js";
import { watchRegistry, type RegistryWatch } from "./config/registry-watcher.js";
import type { AgentEndpoint, AgentPort } from "./core/agent-port.js";
import { Dispatcher } from "./core/dispatcher.js";
import type { AgentId, EventId } from "./core/ids.js";
import type { IncomingEvent } from "./core/incoming.js";
import { strings } from "./core/strings.js";
import { startHttpServer, type HttpServer } from "./http/server.js";
import { appReadiness, type Readiness } from "./http/readiness.js";
import { sweepPartials } from "./files/sweep.js";
import { createLogger } from "./logger.js";
import { MatrixChatAdapter } from "./matrix/chat-adapter.js";
import { attachIntake } from "./matrix/intake.js";
import { createMediaPort } from "./matrix/media-port.js";
import { discoverBindings } from "./matrix/reconcile.js";
import { initCrypto, stopSyncKeepCrypto } from "./matrix/crypto-store.js";
import { setUpEncryptionIdentity } from "./matrix/cross-signing.js";
import { parseRecoveryKey, recoveryCallbacks } from "./matrix/recovery.js";
import { RoomCrypto } from "./matrix/room-crypto.js";
import { MatrixSender } from "./matrix/sender.js";
import { buildClient, resolveSession, untilReachable } from "./matrix/session.js";
import { PersistentSyncStore } from "./matrix/sync-store.js";
import { routeSdkModuleLogs } from "./matrix/sdk-logger.js";
import { Metrics } from "./observability/metrics.js";
import { observeAgentPort } from "./observability/observed-agents.js";
import { KV_KEYS, newChatId, openStore, type Store } from "./store/index.js";

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

const endpointsOf = (registry: Registry): Map<AgentId, AgentEndpoint> =>
  new Map([...registry.agents].map(([id, a]) => [id, { baseUrl: a.baseUrl, ...(a.token ? { token: a.token } : {}) }]));

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
  agents = createAgentPool({
    logger: logger.child({ component: "agents" }),
    connectGraceMs: config.agentConnectGraceMs,
    idleTimeoutMs: config.turnIdleTimeoutMs,
    // A backstop only: the dispatcher's own timer answers first and tells the user.
    confirmTimeoutMs: config.confirmTimeoutMs + 10_000,
    onConnected: (agentId, again) => again && metrics.agentReconnects.inc({ agent: agentId }),
  });
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
  const kv = { get: (k: string) => store.kv.get(k) ?? undefined, set: (k: string, v: string) => store.kv.set(k, v) };
  const creds = { ...config, userId: config.botUserId };
  const session = await untilReachable(() => resolveSession(creds, kv, logger), logger);
  const syncStore = new PersistentSyncStore({
    load: () => kv.get(KV_KEYS.syncAccumulator),
    save: (json) => kv.set(KV_KEYS.syncAccumulator, json),
  });
  routeSdkModuleLogs(logger);
  const client: MatrixClient = buildClient(creds, session, syncStore, logger, recoveryKey && recoveryCallbacks(recoveryKey, () => client));
  // Before the first sync, so no to-device message (room keys) goes unseen.
  await initCrypto(client, { dataDir: config.dataDir, kv, logger });
  let chat: MatrixChatAdapter | undefined;
  const roomCrypto = new RoomCrypto(client, logger);
  const sender = new MatrixSender(client, logger, {
    onRateLimited: (room, ms) => {
      metrics.rateLimited.inc();
      chat?.rateLimited(room, ms);
    },
    onSent: (_room, ms) => metrics.sendLatency.observe(ms / 1000),
  }, roomCrypto);
  chat = new MatrixChatAdapter(client, sender, logger, {
    editIntervalMs: config.editIntervalMs,
    encryptRooms: config.encryptRooms,
    onFirstVisible: (ms) => metrics.firstVisible.observe(ms / 1000),
  });
  const dispatcher = new Dispatcher({
    botUserId: config.botUserId,
    chat,
    agents: observeAgentPort(agents, metrics),
    store,
    logger,
    idleTimeoutMs: config.turnIdleTimeoutMs,
    agentWaitMs: config.agentWaitMs,
    newChatId,
    agentsFor: (user) => registry.current().agentsFor(user),
    agentKnown: (id) => registry.current().agent(id) !== undefined,
    confirmTimeoutMs: config.confirmTimeoutMs,
    editIntervalMs: config.editIntervalMs,
    media: createMediaPort(config, client, sender, (id) => registry.current().agent(id)?.workspacePath, logger, metrics),
  });

  metrics.bindSources({
    queueDepth: () => dispatcher.queue.totalDepth(),
    agentIds: () => registry.current().agents.keys(),
    agents,
  });

  agents.onNotify((agentId, chatId, text) => {
    const room = store.rooms.byChatId(chatId);
    if (!room || room.agentId !== agentId || room.archived) {
      logger.warn({ agent_id: agentId, chat_id: chatId }, "notify for a chat no room holds; dropped");
      return;
    }
    void chat.sendText(room.roomId, text, `notify.${chatId}.${Date.now()}`).catch((err: unknown) => {
      logger.error({ err, room_id: room.roomId }, "could not deliver notify");
    });
  });

  const enqueue = (ev: IncomingEvent): void => void dispatcher.enqueue(ev);
  const record = (ev: IncomingEvent): boolean =>
    store.inbox.record({ eventId: ev.eventId, roomId: ev.roomId, sender: ev.sender, content: ev, originTs: Date.now() });

  const decryption = attachIntake(client, syncStore.hadSavedSync, logger, {
    onEvent: (ev) => {
      if (record(ev) && ready) enqueue(ev);
    },
    onHistorical: (ev) => {
      if (record(ev)) store.inbox.setStatus(ev.eventId, "ignored");
    },
    known: (eventId) => store.inbox.has(eventId as EventId),
  }, { decryptGraceMs: config.decryptGraceMs });

  // The ledger only has to outlive replays (a resumed sync, Synapse's ~24 h
  // transaction memory); pruning runs only once synced, so a first sync after
  // a long downtime still finds its fences.
  const pruneLedger = (): void => {
    const removed = store.inbox.prune(LEDGER_KEEP_MS);
    if (removed) logger.info({ removed }, "pruned handled events from the ledger");
  };
  const pruneTimer = setInterval(() => ready && pruneLedger(), 60 * 60_000).unref();

  let crossSigning: Promise<unknown> = Promise.resolve();
  const readyPromise = new Promise<void>((resolve) => {
    // Ready after a sync with the homeserver itself: a resumed client first
    // reports PREPARED from its cache, before its first request is answered.
    const onSync = (state: SyncState, _prev: SyncState | null, data?: SyncStateData): void => {
      const synced = state === SyncState.Syncing || (state === SyncState.Prepared && !data?.fromCache);
      if (!synced) return;
      client.off(ClientEvent.Sync, onSync);
      rebuildState(client, store, logger);
      resumeAfterRestart(store, chat, logger);
      dispatcher.confirmations.resume();
      // Pending events, in arrival order, before anything new: nothing is
      // handled until the rooms are known.
      for (const row of store.inbox.pending()) enqueue(row.content as IncomingEvent);
      ready = true;
      pruneLedger();
      void sweepInboxes(registry.current(), logger);
      crossSigning = setUpEncryptionIdentity({
        client,
        userId: config.botUserId,
        ...(config.password && { password: config.password }),
        ...(recoveryKey && { recoveryKey }),
        logger,
        stopping: () => stopped,
      });
      logger.info({ rooms: store.rooms.count() }, "ready");
      resolve();
    };
    client.on(ClientEvent.Sync, onSync);
  });

  await client.startClient({
    initialSyncLimit: options.initialSyncLimit ?? 1,
    lazyLoadMembers: true,
    filter: syncFilter(config.botUserId, options.syncTimelineLimit ?? SYNC_TIMELINE_LIMIT),
  });
  logger.info({ user_id: config.botUserId, device_id: session.deviceId }, "syncing");

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
      clearInterval(pruneTimer);
      const stopCrypto = stopSyncKeepCrypto(client);
      const decrypting = decryption.stop();
      dispatcher.turns.close(); // messages waiting for a down agent give up (with a notice)
      await Promise.race([dispatcher.queue.drain(), new Promise((r) => setTimeout(r, 10_000))]);
      chat.stop();
      // The wasm crypto must not be freed under a call still running in it.
      await Promise.race([Promise.all([decrypting, roomCrypto.close(), crossSigning]), new Promise((r) => setTimeout(r, 10_000))]);
      stopCrypto();
      dispatcher.confirmations.stop();
      syncStore.flush();
      registry.close();
      await agents.close();
      store.close();
      await http?.close();
      logger.info("stopped");
    },
  };
}

/**
 * Incremental syncs carry at most `timeline.limit` events per room; after a
 * downtime, a room with more new messages than that comes back "limited" and
 * intake backfills the gap (matrix/gap-fill.ts). A generous limit makes that
 * rare and keeps the common case to one request.
 */
export const SYNC_TIMELINE_LIMIT = 250;

/** Handled events are forgotten after a week. */
export const LEDGER_KEEP_MS = 7 * 24 * 60 * 60_000;

function syncFilter(userId: string, timelineLimit: number): Filter {
  const filter = new Filter(userId);
  filter.setDefinition({
    room: { timeline: { limit: timelineLimit }, state: { lazy_load_members: true } },
    presence: { not_types: ["*"] },
  });
  return filter;
}

/** Removes download temp files a crash left in the agents' inboxes (older than 10 minutes). */
async function sweepInboxes(registry: Registry, logger: Logger): Promise<void> {
  for (const agent of registry.agents.values()) {
    try {
      const removed = await sweepPartials(agent.workspacePath, 10 * 60_000);
      if (removed.length) logger.info({ agent_id: agent.id, removed }, "removed unfinished downloads from the inbox");
    } catch (err) {
      logger.warn({ err, agent_id: agent.id }, "could not sweep the agent's inbox");
    }
  }
}

/** Rebuilds the room cache from the bindings in room state; never creates a room. */
function rebuildState(client: MatrixClient, store: Store, logger: Logger): void {
  const found = discoverBindings(client);
  let added = 0;
  store.transaction(() => {
    for (const { roomId, name, binding } of found) {
      if (!store.rooms.get(roomId)) added++;
      store.rooms.upsert({ roomId, name, ...binding });
      if (binding.kind === "space" && !store.users.get(binding.owner)?.spaceId) {
        store.users.upsert({ userId: binding.owner, spaceId: roomId });
      }
    }
  });
  logger.info({ rooms: found.length, added }, "room state reconciled");
}

/** Turns a crash cut short end with a notice, not with silence or a second answer. */
function resumeAfterRestart(store: Store, chat: MatrixChatAdapter, logger: Logger): void {
  for (const row of store.inbox.inFlight()) {
    logger.warn({ room_id: row.roomId, event_id: row.eventId, turn: row.turnId }, "turn interrupted by a restart");
    store.inbox.setStatus(row.eventId, "done");
    void chat.sendNotice(row.roomId, strings.turnInterrupted, `interrupted.${row.eventId}`).catch(() => undefined);
  }
}
