/**
 * The bot's Matrix session: credentials (waiting out an unreachable or
 * rate-limiting homeserver), the resumable sync store, the client with its
 * sync filter, the sender and the chat adapter, and readiness — the first
 * sync the homeserver itself answered.
 */
import { ClientEvent, Filter, SyncState, type IFilterDefinition, type MatrixClient, type SyncStateData } from "matrix-js-sdk";
import type { Logger } from "pino";
import { MatrixChatAdapter } from "./chat-adapter.js";
import { initCrypto, stopSyncKeepCrypto, storeDeviceId } from "./crypto-store.js";
import { skipIdleCryptoSyncs } from "./idle-crypto-syncs.js";
import { forgetLostDevice } from "./lost-crypto-store.js";
import { recoveryCallbacks } from "./recovery.js";
import { RoomCrypto } from "./room-crypto.js";
import { DeferredRoomSettings } from "./deferred-room-settings.js";
import { keepInitialSyncFilter, prefetchInitialSync } from "./initial-sync.js";
import { keepOldStateLight } from "./light-old-state.js";
import { BINDING_EVENT } from "./provisioning.js";
import { MatrixSender, type SendObserver } from "./sender.js";
import { buildClient, resolveSession, SESSION_KEYS, untilReachable, type SessionPersistence } from "./session.js";
import { muteOwnNotifications } from "./push-rules.js";
import { PersistentSyncStore } from "./sync-store.js";
import { routeSdkModuleLogs } from "./sdk-logger.js";

/**
 * Incremental syncs carry at most `timeline.limit` events per room; after a
 * downtime, a room with more new messages than that comes back "limited" and
 * intake backfills the gap (gap-fill.ts). A generous limit makes that rare
 * and keeps the common case to one request.
 */
export const SYNC_TIMELINE_LIMIT = 250;

/** Timeline events per room in the first sync without a saved position: history the bot only records. */
export const INITIAL_SYNC_LIMIT = 1;

/**
 * The room state the bot reads, and nothing else: every room's state is held
 * in memory (and in the saved sync) for the life of the process, so each
 * type left out is a few hundred bytes per room. `m.room.create` and the
 * binding: whose room it is (binding.ts). Members (lazy-loaded) and history
 * visibility: whom an encrypted message's keys go to. Encryption: whether to
 * encrypt. Name: the room's name in the rebuilt cache. State sent later still
 * arrives in full in the timeline.
 */
const STATE_TYPES = ["m.room.create", BINDING_EVENT, "m.room.member", "m.room.encryption", "m.room.history_visibility", "m.room.name"];

/**
 * The bot's /sync filter, `timelineLimit` events per room: only what it
 * reads. Left out: presence; room state of other types (STATE_TYPES); rooms'
 * ephemeral events (read receipts and typing: the bot sends its own but never
 * reads anyone's, and each receipt it sent came back as a sync of its own, a
 * wake-up and a full pass through the SDK and its crypto for nothing); rooms'
 * account data (tags, fully-read markers). Kept: timelines, global account
 * data (secret storage, cross-signing, key backup), and the top-level
 * to-device events and device lists that end-to-end encryption needs, which
 * no room filter touches.
 */
export function syncFilterDefinition(timelineLimit: number): IFilterDefinition {
  return {
    room: {
      timeline: { limit: timelineLimit },
      state: { lazy_load_members: true, types: STATE_TYPES },
      ephemeral: { not_types: ["*"] },
      account_data: { not_types: ["*"] },
    },
    presence: { not_types: ["*"] },
  };
}

export interface MatrixSessionOptions {
  homeserverUrl: string;
  botUserId: string;
  accessToken?: string;
  password?: string;
  deviceId?: string;
  editIntervalMs: number;
  /** SURFACES_DATA_DIR: the crypto store lives in its `crypto/`. */
  dataDir: string;
  /** Chat rooms the bot creates are end-to-end encrypted. */
  encryptRooms: boolean;
  /** The decoded SURFACES_RECOVERY_KEY: opens secret storage. */
  recoveryPrivateKey?: Uint8Array<ArrayBuffer>;
  /** Where the token, device id and sync position are kept. */
  persistence: SessionPersistence;
  logger: Logger;
  onRateLimited?: () => void;
  onSent?: (ms: number) => void;
  onFirstVisible?: (ms: number) => void;
  /** Timeline events per room in a first sync without a saved position (default INITIAL_SYNC_LIMIT). */
  initialSyncLimit?: number;
  /** SURFACES_INITIAL_SYNC: how a first sync without a saved position is loaded (sliding-first-sync.ts). */
  initialSync?: "sliding" | "classic";
}

export interface MatrixSession {
  client: MatrixClient;
  sender: MatrixSender;
  chat: MatrixChatAdapter;
  /** Encrypted rooms and encryption of what the bot sends there. */
  roomCrypto: RoomCrypto;
  deviceId: string;
  /** Whether a sync position was saved before (else the first sync is history). */
  hadSavedSync: boolean;
  /** Where a sync gap's backfill stops: the position the last rebuild through sliding sync started from, if any. */
  historyFloor: () => string | undefined;
  /** Starts syncing; `onSynced` runs once, after the first sync the homeserver answered. */
  startSyncing(opts: { timelineLimit?: number }, onSynced: () => void): Promise<void>;
  /**
   * Stops syncing and returns what frees the crypto: answers still finishing
   * at shutdown must encrypt their last edits.
   */
  stopSyncing(): () => void;
  /** Stops syncing (and the crypto) and saves the sync position. */
  stop(): void;
}

export async function openMatrixSession(o: MatrixSessionOptions): Promise<MatrixSession> {
  const { logger } = o;
  const newDevice = await forgetLostDevice({ ...o, logger });
  if (newDevice && o.deviceId) logger.warn({ device_id: o.deviceId }, "SURFACES_DEVICE_ID names the device whose keys are lost; ignored");
  const deviceId = newDevice ? undefined : o.deviceId;
  const creds = { homeserverUrl: o.homeserverUrl, userId: o.botUserId, accessToken: o.accessToken, password: o.password, deviceId, storeDeviceId: storeDeviceId(o.dataDir, o.botUserId) };
  const session = await untilReachable(() => resolveSession(creds, o.persistence, logger), logger);
  const syncStore = new PersistentSyncStore(
    {
      load: () => o.persistence.get(SESSION_KEYS.syncAccumulator),
      save: (json) => o.persistence.set(SESSION_KEYS.syncAccumulator, json),
    },
    undefined,
    (err) => logger.error({ err }, "saving the sync position failed; the next save tries again"),
  );
  routeSdkModuleLogs(logger);
  // Aborts a first /sync still running when the bot stops (initial-sync.ts).
  const initialSyncStop = new AbortController();
  const initialFilter = JSON.stringify(syncFilterDefinition(o.initialSyncLimit ?? INITIAL_SYNC_LIMIT));
  // Without a saved position the first /sync is the long one: the homeserver starts on it now (initial-sync.ts).
  const prefetched = syncStore.hadSavedSync
    ? undefined
    : prefetchInitialSync({
        homeserverUrl: o.homeserverUrl,
        accessToken: session.accessToken,
        initialFilter,
        stop: initialSyncStop.signal,
        onMismatch: (url) => logger.warn({ query: [...url.searchParams.keys()] }, "the SDK's first /sync differs from the prefetched one; sent again"),
        ...(o.initialSync !== "classic" && {
          sliding: {
            botUserId: o.botUserId,
            stateTypes: STATE_TYPES,
            onFallback: (reason) => logger.info({ reason }, "first sync through the classic initial /sync"),
            onLoaded: (loaded) => {
              // Everything before this position is history, also for a later sync gap's backfill.
              o.persistence.set(SESSION_KEYS.historyFloor, loaded.since);
              logger.info(loaded, "first sync loaded through sliding sync");
            },
          },
        }),
      });
  const fetchFn = keepInitialSyncFilter(initialFilter, initialSyncStop.signal, undefined, prefetched);
  const client: MatrixClient = buildClient(creds, session, syncStore, logger, o.recoveryPrivateKey && recoveryCallbacks(o.recoveryPrivateKey, () => client), fetchFn);
  withoutMatrixRtc(client);
  keepOldStateLight(client);
  // Before the first sync, so no to-device message (room keys) goes unseen.
  // A start that fails here must not leave the prefetched first /sync running.
  await initCrypto(client, { dataDir: o.dataDir, kv: o.persistence, logger }).catch((err: unknown) => {
    initialSyncStop.abort();
    throw err;
  });
  skipIdleCryptoSyncs(client.getCrypto(), logger);
  const roomSettings = new DeferredRoomSettings(logger);
  roomSettings.install(client.getCrypto());
  const roomCrypto = new RoomCrypto(client, logger, roomSettings);
  let chat: MatrixChatAdapter | undefined;
  const observer: SendObserver = {
    onRateLimited: (room, ms) => {
      o.onRateLimited?.();
      chat?.rateLimited(room, ms);
    },
    onSent: (_room, ms) => o.onSent?.(ms),
  };
  const sender = new MatrixSender(client, logger, observer, roomCrypto);
  chat = new MatrixChatAdapter(client, sender, logger, {
    editIntervalMs: o.editIntervalMs,
    encryptRooms: o.encryptRooms,
    ...(o.onFirstVisible ? { onFirstVisible: o.onFirstVisible } : {}),
  });
  const adapter = chat;

  return {
    client,
    sender,
    chat: adapter,
    roomCrypto,
    deviceId: session.deviceId,
    hadSavedSync: syncStore.hadSavedSync,
    historyFloor: () => o.persistence.get(SESSION_KEYS.historyFloor) ?? undefined,
    async startSyncing(opts, onSynced) {
      watchSync(client, logger, () => {
        roomSettings.release();
        void muteOwnNotifications(client, logger);
        onSynced();
      });
      await client.startClient({
        initialSyncLimit: o.initialSyncLimit ?? INITIAL_SYNC_LIMIT,
        lazyLoadMembers: true,
        // Syncing does not make the bot "online": with presence on, each /sync would update it.
        disablePresence: true,
        filter: syncFilter(o.botUserId, opts.timelineLimit ?? SYNC_TIMELINE_LIMIT),
      });
      logger.info({ user_id: o.botUserId, device_id: session.deviceId }, "syncing");
    },
    stopSyncing: () => {
      initialSyncStop.abort();
      return stopSyncKeepCrypto(client);
    },
    stop() {
      initialSyncStop.abort();
      client.stopClient();
      adapter.stop();
      syncStore.flush();
    },
  };
}

/**
 * matrix-js-sdk starts its MatrixRTC (group calls) session manager after the
 * first sync, whether or not the application uses calls: it then makes a
 * session for every room, which stays attached to the room by its listeners,
 * each with a `loglevel` logger of its own that is never freed (≈2.7 KB a
 * room). The bot makes and joins no calls, so the manager never starts
 * (there is no client option for it; `stop()` stays as it is).
 */
function withoutMatrixRtc(client: MatrixClient): void {
  client.matrixRTC.start = (): void => undefined;
}

/**
 * Readiness comes after a sync with the homeserver itself (a resumed client
 * first reports PREPARED from its cache). Sync errors (the SDK retries them
 * itself, 429s included) get one log line each.
 */
function watchSync(client: MatrixClient, logger: Logger, onSynced: () => void): void {
  let synced = false;
  client.on(ClientEvent.Sync, (state: SyncState, _prev: SyncState | null, data?: SyncStateData) => {
    if (state === SyncState.Error) {
      logger.warn({ err: data?.error?.message }, "sync failed; the client retries");
      return;
    }
    if (synced || !(state === SyncState.Syncing || (state === SyncState.Prepared && !data?.fromCache))) return;
    synced = true;
    onSynced();
  });
}

function syncFilter(userId: string, timelineLimit: number): Filter {
  const filter = new Filter(userId);
  filter.setDefinition(syncFilterDefinition(timelineLimit));
  return filter;
}
