/**
 * Which rooms are end-to-end encrypted, and encryption of the events the
 * bot sends there. The sender keeps its own PUT with derived transaction ids
 * (sender.ts); this only turns content into `m.room.encrypted` first.
 */
import { Method, MatrixEvent, RoomStateEvent, type MatrixClient, type Room } from "matrix-js-sdk";
import type { Logger } from "pino";
import type { DeferredRoomSettings } from "./deferred-room-settings.js";
import { untilSynced } from "./until-synced.js";

/** What the crypto backend offers beyond the public CryptoApi (matrix-js-sdk's CryptoBackend). */
interface EventEncrypter {
  encryptEvent(event: MatrixEvent, room: Room): Promise<void>;
  isEncryptionEnabledInRoom(roomId: string): Promise<boolean>;
}

/**
 * Events that stay in the clear in encrypted rooms: a redaction must (the
 * homeserver acts on it). Reactions are encrypted like everything else the
 * bot says; their `m.relates_to` stays in the clear part of
 * `m.room.encrypted`, so clients still aggregate them.
 */
const CLEAR_TYPES = new Set(["m.room.redaction"]);

const ROOM_WAIT_MS = 30_000;

export class RoomCrypto {
  /** Rooms known to be encrypted (encryption cannot be switched off again). */
  private readonly encrypted = new Set<string>();
  /**
   * Rooms whose "not encrypted" was confirmed once with the crypto store and
   * (before the room's state has synced) the homeserver. Later the answer can only change through an
   * `m.room.encryption` event in the sync, which the listener below records;
   * asking the crypto store on every send (an IndexedDB read) was a visible
   * share of the bot's CPU per answer in unencrypted rooms.
   */
  private readonly confirmedClear = new Set<string>();
  /** Rooms the crypto has been seen able to encrypt for (its room settings cannot be taken back). */
  private readonly ready = new Set<string>();
  /** Calls into the crypto still running: close() waits for them before the wasm machine is freed. */
  private readonly inflight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly client: MatrixClient,
    private readonly logger: Logger,
    /** Rooms' settings the crypto gets after the first sync (deferred-room-settings.ts). */
    private readonly settings?: DeferredRoomSettings,
  ) {
    // Kept even if the state event later vanishes from the room's state (a
    // state reset): a room never goes back to sending in the clear.
    client.on(RoomStateEvent.Events, (event: MatrixEvent) => {
      const roomId = event.getRoomId();
      if (roomId && event.getType() === "m.room.encryption" && event.getStateKey() === "") this.encrypted.add(roomId);
    });
  }

  private get backend(): EventEncrypter | undefined {
    return this.client.getCrypto() as unknown as EventEncrypter | undefined;
  }

  /**
   * True when the room has `m.room.encryption`. A room the sync has not
   * shown yet (one the bot has just created) is asked of the homeserver, so
   * a first message never goes out in the clear.
   */
  isEncrypted(roomId: string): Promise<boolean> {
    return this.track(async () => {
      if (this.encrypted.has(roomId) || this.settings?.has(roomId)) return true;
      const room = this.client.getRoom(roomId);
      // Local state first; a "no" is checked once per room with the crypto
      // store (which remembers rooms encrypted in earlier runs) and, unless
      // the sync has delivered the room's state (its m.room.create, which
      // then holds any m.room.encryption too), with the homeserver, because
      // the SDK shows a just-joined room before its state. The bot's own new
      // rooms, whose creation a sync may cut in two, are marked by markEncrypted.
      let yes = room?.hasEncryptionStateEvent() === true;
      if (!yes && !this.confirmedClear.has(roomId)) {
        // An invited room's state is the stripped invite state (an m.room.create without an event id,
        // and m.room.encryption only if the inviter's server shares it): not "synced" until joined.
        const stateSynced = room?.getMyMembership() === "join" && Boolean(room.currentState.getStateEvents("m.room.create", "")?.getId());
        yes = ((await this.backend?.isEncryptionEnabledInRoom(roomId)) ?? false) || (!stateSynced && (await this.serverSaysEncrypted(roomId)));
        if (!yes) this.confirmedClear.add(roomId);
      }
      if (yes) this.encrypted.add(roomId);
      return yes;
    });
  }

  /**
   * A room the bot itself just created encrypted: its sync may show the room
   * before the m.room.encryption of its initial state.
   */
  markEncrypted(roomId: string): void {
    this.encrypted.add(roomId);
  }

  /** The type and content to put on the wire: encrypted in an encrypted room. */
  wireEvent(roomId: string, type: string, content: object, sender: string): Promise<{ type: string; content: Record<string, unknown> }> {
    return this.track(async () => {
      const plain = { type, content: content as Record<string, unknown> };
      if (CLEAR_TYPES.has(type) || !(await this.isEncrypted(roomId))) return plain;
      const backend = this.backend;
      if (!backend) throw new Error(`room ${roomId} is encrypted but end-to-end encryption is not running`);
      const room = await this.joinedEncryptedRoom(roomId, backend);
      const event = new MatrixEvent({ type, content: plain.content, room_id: roomId, sender });
      await backend.encryptEvent(event, room);
      return { type: event.getWireType(), content: event.getWireContent() };
    });
  }

  /** Resolves once the crypto has every room the first sync showed encrypted (deferred-room-settings.ts). */
  settingsHandedOver(): Promise<void> {
    return this.settings?.whenDrained() ?? Promise.resolve();
  }

  /** Refuses new work and waits for the running calls, so the crypto can be freed safely. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inflight, this.settings?.close()]);
  }

  private track<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error("end-to-end encryption is stopping"));
    const p = work();
    this.inflight.add(p);
    void p.then(
      () => this.inflight.delete(p),
      () => this.inflight.delete(p),
    );
    return p;
  }

  private async serverSaysEncrypted(roomId: string): Promise<boolean> {
    try {
      await this.client.http.authedRequest(Method.Get, `/rooms/${encodeURIComponent(roomId)}/state/m.room.encryption/`);
      return true;
    } catch (err) {
      if ((err as { httpStatus?: number }).httpStatus === 404) return false;
      throw err;
    }
  }

  /**
   * The crypto can only encrypt for a room the sync has delivered with its
   * encryption state; right after the bot creates a room that takes a sync.
   */
  private async joinedEncryptedRoom(roomId: string, backend: EventEncrypter): Promise<Room> {
    const room = await untilSynced(async () => {
      const joined = this.client.getRoom(roomId);
      if (joined && joined.getMyMembership() === "join") {
        // Asked once per room: the crypto's room settings are a store read, and a send needs them only the first time.
        if (this.ready.has(roomId)) return joined;
        await this.settings?.settle(roomId);
        if (await backend.isEncryptionEnabledInRoom(roomId)) {
          this.ready.add(roomId);
          return joined;
        }
      }
      this.logger.debug({ room_id: roomId }, "waiting for the sync to show the encrypted room");
      return undefined;
    }, ROOM_WAIT_MS, 100);
    if (!room) throw new Error(`room ${roomId} did not show up encrypted in the sync within ${ROOM_WAIT_MS} ms`);
    return room;
  }
}
