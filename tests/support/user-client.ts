/**
 * A syncing matrix-js-sdk client acting as a human user in e2e tests:
 * wait for invites, join, send text, wait for (possibly edited) messages.
 * For exact-once assertions prefer fetchRoomMessages (room-messages.ts),
 * which reads the server's copy instead of the SDK's timeline.
 */
import {
  ClientEvent,
  createClient,
  KnownMembership,
  MatrixError,
  MatrixEvent as SdkEvent,
  MatrixEventEvent,
  MemoryStore,
  RoomEvent,
  SyncState,
  type MatrixClient,
  type MatrixEvent,
  type Room,
} from "matrix-js-sdk";
import type { CryptoBackend } from "matrix-js-sdk/lib/common-crypto/CryptoBackend.js";
import type { ICreateRoomOpts } from "matrix-js-sdk/lib/@types/requests.js";
import type { Logger as SdkLogger } from "matrix-js-sdk/lib/logger.js";
// matrix-js-sdk's own logging library (a dependency of it, not of ours).
import loglevel from "loglevel";
import { e2eEncrypted, ENCRYPTION_STATE } from "./e2e-mode.js";
import { registerE2ee, type E2eeSession, type RawEvent } from "./room-messages.js";

export interface UserCredentials {
  userId: string;
  accessToken: string;
  deviceId: string;
}

export interface UserClient {
  readonly client: MatrixClient;
  readonly userId: string;
  /** Resolves with the id of a room the user is invited to (already or later). */
  waitForInvite(predicate?: (room: Room) => boolean, timeoutMs?: number): Promise<string>;
  joinRoom(roomId: string): Promise<void>;
  /** Creates a room as Element would: encrypted from the start when this client has E2EE. */
  createRoom(opts: ICreateRoomOpts): Promise<string>;
  /** Sends m.text; resolves with the event id. */
  sendText(roomId: string, text: string): Promise<string>;
  /**
   * First non-edit m.room.message in the room for which `predicate` holds;
   * re-checked as edits arrive, with `text` being the newest edit's body.
   */
  waitForMessage(
    roomId: string,
    predicate: (event: MatrixEvent, text: string | undefined) => boolean,
    timeoutMs?: number,
  ): Promise<MatrixEvent>;
  /** Body of the newest m.replace edit of eventId by its sender, else its own body. */
  latestText(roomId: string, eventId: string): string | undefined;
  /** m.room.message events of the room in timeline order, edits excluded. */
  messages(roomId: string): MatrixEvent[];
  stop(): void;
}

const noop = (): void => undefined;
// The SDK logs every sync hiccup (e.g. while a test restarts Synapse).
const quietLogger: SdkLogger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  getChild: () => quietLogger,
};

// Some SDK modules (sync, MatrixRTC) log through module-level loglevel
// loggers, not the client's, and the SDK forces each new one to DEBUG. A
// no-op method factory is inherited by every logger made later (getChild
// copies its parent's), so it silences them all. SURFACES_SDK_LOG=1 keeps them.
if (!process.env["SURFACES_SDK_LOG"]) {
  const silentFactory: loglevel.MethodFactory = () => noop;
  loglevel.methodFactory = silentFactory;
  for (const l of Object.values(loglevel.getLoggers())) {
    l.methodFactory = silentFactory;
    l.rebuild();
  }
}

/** The content as sent: decrypted for an encrypted event, never with edits folded in. */
function clear(ev: MatrixEvent): Record<string, unknown> {
  return ev.getClearContent() ?? ev.getWireContent();
}

function isEdit(ev: MatrixEvent): boolean {
  return ev.getWireContent()["m.relates_to"]?.rel_type === "m.replace";
}

/** Re-evaluates `check` on every timeline/membership change (and on a slow tick) until it returns a value. */
function waitUntil<T>(client: MatrixClient, what: string, timeoutMs: number, check: () => T | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const finish = (fn: () => void) => {
      clearInterval(tick);
      clearTimeout(timer);
      client.off(RoomEvent.Timeline, poke);
      client.off(RoomEvent.MyMembership, poke);
      client.off(ClientEvent.Room, poke);
      client.off(MatrixEventEvent.Decrypted, poke);
      fn();
    };
    const poke = () => {
      let value: T | undefined;
      try {
        value = check();
      } catch (err) {
        finish(() => reject(err instanceof Error ? err : new Error(String(err))));
        return;
      }
      if (value !== undefined) finish(() => resolve(value));
    };
    const tick = setInterval(poke, 250);
    const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))), timeoutMs);
    client.on(RoomEvent.Timeline, poke);
    client.on(RoomEvent.MyMembership, poke);
    client.on(ClientEvent.Room, poke);
    // An encrypted event shows in the timeline before it is decrypted.
    client.on(MatrixEventEvent.Decrypted, poke);
    poke();
  });
}

function waitForPrepared(client: MatrixClient, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off(ClientEvent.Sync, onSync);
      reject(new Error(`initial sync not PREPARED within ${timeoutMs} ms`));
    }, timeoutMs);
    const onSync = (state: SyncState) => {
      if (state !== SyncState.Prepared && state !== SyncState.Error) return;
      clearTimeout(timer);
      client.off(ClientEvent.Sync, onSync);
      if (state === SyncState.Prepared) resolve();
      else reject(new Error("initial sync failed (SyncState.Error)"));
    };
    client.on(ClientEvent.Sync, onSync);
  });
}

export async function startUserClient(
  baseUrl: string,
  creds: UserCredentials,
  opts: {
    initialSyncLimit?: number;
    timeoutMs?: number;
    /** End-to-end encryption with an in-memory Rust crypto store (an E2EE user, as in Element); default: SURFACES_E2E_ENCRYPTED. */
    crypto?: boolean;
  } = {},
): Promise<UserClient> {
  const withCrypto = opts.crypto ?? e2eEncrypted();
  const client = createClient({
    baseUrl,
    userId: creds.userId,
    accessToken: creds.accessToken,
    deviceId: creds.deviceId,
    store: new MemoryStore(),
    logger: quietLogger,
  });
  if (withCrypto) await client.initRustCrypto({ useIndexedDB: false });
  const prepared = waitForPrepared(client, opts.timeoutMs ?? 30_000);
  await client.startClient({ initialSyncLimit: opts.initialSyncLimit ?? 20, disablePresence: true, lazyLoadMembers: true });
  try {
    await prepared;
    // Element's device has long published its keys when its user talks to
    // the bot; a fresh test device must too, or the bot shares no room key with it.
    if (withCrypto) await waitForPublishedDevice(baseUrl, creds, opts.timeoutMs ?? 30_000);
  } catch (err) {
    client.stopClient();
    throw err;
  }

  const timeline = (roomId: string): MatrixEvent[] => client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
  const messages = (roomId: string) =>
    timeline(roomId).filter((ev) => ev.getType() === "m.room.message" && !isEdit(ev));
  const latestText = (roomId: string, eventId: string): string | undefined => {
    const events = timeline(roomId);
    const original = events.find((ev) => ev.getId() === eventId);
    let text = (original && clear(original)["body"]) as string | undefined;
    for (const ev of events) {
      const rel = ev.getWireContent()["m.relates_to"];
      if (rel?.rel_type !== "m.replace" || rel.event_id !== eventId) continue;
      if (original && ev.getSender() !== original.getSender()) continue;
      const body: unknown = (clear(ev)["m.new_content"] as { body?: unknown } | undefined)?.body;
      if (typeof body === "string") text = body;
    }
    return text;
  };

  const unregister = withCrypto ? registerE2ee(creds.accessToken, e2eeSession(client, creds.userId)) : () => undefined;

  return {
    client,
    userId: creds.userId,
    waitForInvite: (predicate = () => true, timeoutMs = 30_000) =>
      waitUntil(client, "an invite", timeoutMs, () =>
        client.getRooms().find((r) => r.getMyMembership() === (KnownMembership.Invite as string) && predicate(r))?.roomId,
      ),
    joinRoom: async (roomId) => {
      // Under Synapse's default limits (rc_joins) a test user waits as told, like any client.
      for (;;) {
        try {
          await client.joinRoom(roomId);
          break;
        } catch (err) {
          if (!(err instanceof MatrixError && err.isRateLimitError())) throw err;
          await new Promise((r) => setTimeout(r, err.getRetryAfterMs() ?? 1000));
        }
      }
      await waitUntil(client, `join of ${roomId}`, 30_000, () =>
        client.getRoom(roomId)?.getMyMembership() === KnownMembership.Join ? true : undefined,
      );
    },
    createRoom: async (createOpts) => {
      const state = createOpts.initial_state ?? [];
      const encrypt = withCrypto && !state.some((e) => e.type === ENCRYPTION_STATE.type);
      return (await client.createRoom({ ...createOpts, initial_state: encrypt ? [...state, ENCRYPTION_STATE] : state })).room_id;
    },
    sendText: async (roomId, text) => (await client.sendTextMessage(roomId, text)).event_id,
    waitForMessage: (roomId, predicate, timeoutMs = 30_000) =>
      waitUntil(client, `a matching message in ${roomId}`, timeoutMs, () =>
        messages(roomId).find((ev) => predicate(ev, latestText(roomId, ev.getId() ?? ""))),
      ),
    latestText,
    messages,
    stop: () => {
      unregister();
      client.stopClient();
      client.removeAllListeners();
    },
  };
}

/** Resolves once the homeserver hands out this device's identity keys to others (`/keys/query`). */
async function waitForPublishedDevice(baseUrl: string, creds: UserCredentials, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(new URL("/_matrix/client/v3/keys/query", baseUrl), {
      method: "POST",
      headers: { Authorization: `Bearer ${creds.accessToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ device_keys: { [creds.userId]: [creds.deviceId] } }),
    });
    const json = (await res.json()) as { device_keys?: Record<string, Record<string, unknown>> };
    if (json.device_keys?.[creds.userId]?.[creds.deviceId]) return;
    if (Date.now() > deadline) throw new Error(`${creds.userId}'s device ${creds.deviceId} did not publish its keys within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** How long a read waits for an event's room key to reach the user's client before calling it undecryptable. */
const KEY_WAIT_MS = 10_000;

/**
 * The raw reads' view through this client's crypto: each event decrypted
 * once (cached by id), its relation taken from the unencrypted part as
 * clients do; raw sends encrypted for the room's members.
 */
function e2eeSession(client: MatrixClient, userId: string): E2eeSession {
  const crypto = (): CryptoBackend => {
    // The CryptoApi the client exposes is the Rust backend, which also encrypts and decrypts single events.
    const backend = client.getCrypto() as CryptoBackend | undefined;
    if (!backend) throw new Error(`${userId}'s client has no crypto`);
    return backend;
  };
  const decrypted = new Map<string, RawEvent>();
  return {
    async decrypt(roomId, raw) {
      if (typeof raw.content["ciphertext"] !== "string") return raw; // redacted
      const known = decrypted.get(raw.event_id);
      if (known) return known;
      const deadline = Date.now() + KEY_WAIT_MS;
      for (;;) {
        const ev = new SdkEvent({ ...raw, room_id: roomId });
        await ev.attemptDecryption(crypto());
        if (!ev.isDecryptionFailure()) {
          const content = { ...ev.getClearContent() } as Record<string, unknown>;
          const relation = raw.content["m.relates_to"];
          if (relation !== undefined && content["m.relates_to"] === undefined) content["m.relates_to"] = relation;
          const clearEvent: RawEvent = { ...raw, type: ev.getType(), content, encrypted: true };
          decrypted.set(raw.event_id, clearEvent);
          return clearEvent;
        }
        if (Date.now() > deadline) {
          throw new Error(`${userId} cannot decrypt ${raw.event_id} from ${raw.sender} in ${roomId}: ${ev.decryptionFailureReason ?? "no reason"}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    roomEncrypted: (roomId) => crypto().isEncryptionEnabledInRoom(roomId),
    async encrypt(roomId, type, content) {
      if (!(await crypto().isEncryptionEnabledInRoom(roomId))) return null;
      const room = client.getRoom(roomId);
      if (!room) throw new Error(`${userId}'s client does not know ${roomId}`);
      const ev = new SdkEvent({ type, content, room_id: roomId, sender: userId, event_id: `~local-${Date.now()}` });
      await crypto().encryptEvent(ev, room);
      return { type: ev.getWireType(), content: ev.getWireContent() };
    },
  };
}
