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
  MatrixEventEvent,
  MemoryStore,
  RoomEvent,
  SyncState,
  type MatrixClient,
  type MatrixEvent,
  type Room,
} from "matrix-js-sdk";
import type { Logger as SdkLogger } from "matrix-js-sdk/lib/logger.js";
// matrix-js-sdk's own logging library (a dependency of it, not of ours).
import loglevel from "loglevel";

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
    /** End-to-end encryption with an in-memory Rust crypto store (an E2EE user, as in Element). */
    crypto?: boolean;
  } = {},
): Promise<UserClient> {
  const client = createClient({
    baseUrl,
    userId: creds.userId,
    accessToken: creds.accessToken,
    deviceId: creds.deviceId,
    store: new MemoryStore(),
    logger: quietLogger,
  });
  if (opts.crypto) await client.initRustCrypto({ useIndexedDB: false });
  const prepared = waitForPrepared(client, opts.timeoutMs ?? 30_000);
  await client.startClient({ initialSyncLimit: opts.initialSyncLimit ?? 20, disablePresence: true, lazyLoadMembers: true });
  try {
    await prepared;
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
    sendText: async (roomId, text) => (await client.sendTextMessage(roomId, text)).event_id,
    waitForMessage: (roomId, predicate, timeoutMs = 30_000) =>
      waitUntil(client, `a matching message in ${roomId}`, timeoutMs, () =>
        messages(roomId).find((ev) => predicate(ev, latestText(roomId, ev.getId() ?? ""))),
      ),
    latestText,
    messages,
    stop: () => {
      client.stopClient();
      client.removeAllListeners();
    },
  };
}
