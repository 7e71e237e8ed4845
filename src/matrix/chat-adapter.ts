import type { MatrixClient } from "matrix-js-sdk";
import type { Logger } from "pino";
import type { BindingReader, ChatPort, ReplyStream, RoomBinding } from "../core/chat-port.js";
import { asRoomId, asUserId, type EventId, type RoomId, type UserId } from "../core/ids.js";
import { EditPacer } from "./edit-pacer.js";
import { markdownContent } from "./message-content.js";
import { trustedBinding, type StateLookup } from "./binding.js";
import { BINDING_EVENT, chatRoomRequest, serverOf, spaceRequest, toContent } from "./provisioning.js";
import { syncedState } from "./reconcile.js";
import { MatrixReplyStream } from "./reply-stream.js";
import { policies, retrying } from "./retry.js";
import type { MatrixSender } from "./sender.js";
import { TypingIndicator } from "./typing.js";
import { untilSynced } from "./until-synced.js";

/** How long a new encrypted room's first message waits for the sync to show its owner's invite. */
const MEMBER_SYNC_WAIT_MS = 30_000;

/** Reactions, redactions and receipts only decorate: a few tries, not minutes of them. */
const DECORATION = { maxAttempts: 4 };

export interface ChatAdapterOptions {
  editIntervalMs: number;
  /** Chat rooms the bot creates are end-to-end encrypted (default true). */
  encryptRooms?: boolean;
  /** Bound on the wait for a new encrypted room's owner to show in the sync (default 30 s). */
  memberSyncWaitMs?: number;
  /** Called with the ms from a reply's creation to its first visible event. */
  onFirstVisible?(ms: number): void;
}

/** The Matrix implementation of the core's ChatPort. */
export class MatrixChatAdapter implements ChatPort, BindingReader {
  private readonly pacers = new Map<RoomId, EditPacer>();
  private readonly typing: TypingIndicator;
  private readonly botUserId: UserId;

  constructor(
    private readonly client: MatrixClient,
    private readonly sender: MatrixSender,
    private readonly logger: Logger,
    private readonly options: ChatAdapterOptions,
  ) {
    this.typing = new TypingIndicator(client, logger);
    this.botUserId = asUserId(client.getSafeUserId());
  }

  /** The sender's observer calls this on a 429 so the room's edits slow down. */
  rateLimited(roomId: RoomId, retryAfterMs: number): void {
    this.pacerFor(roomId).onRateLimited(retryAfterMs);
  }

  sendNotice(roomId: RoomId, text: string, key: string): Promise<EventId> {
    return this.sender.send(roomId, "m.room.message", markdownContent(text, "m.notice"), key);
  }

  sendText(roomId: RoomId, markdown: string, key: string): Promise<EventId> {
    return this.sender.send(roomId, "m.room.message", markdownContent(markdown, "m.text"), key);
  }

  openReply(roomId: RoomId, key: string): ReplyStream {
    const opened = Date.now();
    return new MatrixReplyStream(this.sender, roomId, key, this.pacerFor(roomId), this.logger, () =>
      this.options.onFirstVisible?.(Date.now() - opened),
    );
  }

  setTyping(roomId: RoomId, on: boolean): void {
    this.typing.set(roomId, on);
  }

  async refuseInvite(roomId: RoomId, text: string): Promise<void> {
    await this.rateLimited429(() => this.client.joinRoom(roomId));
    try {
      await this.sendNotice(roomId, text, `refuse.${roomId}`);
    } finally {
      await this.rateLimited429(() => this.client.leave(roomId));
      await this.client.forget(roomId).catch(() => undefined);
    }
  }

  async rejectInvite(roomId: RoomId): Promise<void> {
    await this.rateLimited429(() => this.client.leave(roomId));
    await this.client.forget(roomId).catch(() => undefined);
  }

  async acceptInvite(roomId: RoomId): Promise<void> {
    await this.rateLimited429(() => this.client.joinRoom(roomId));
  }

  async createSpace(owner: UserId, name: string): Promise<RoomId> {
    const res = await this.rateLimited429(() =>
      this.client.createRoom(spaceRequest(this.botUserId, owner, name) as Parameters<MatrixClient["createRoom"]>[0]),
    );
    return asRoomId(res.room_id);
  }

  async createChatRoom(spaceId: RoomId, name: string, binding: RoomBinding): Promise<RoomId> {
    const encrypted = this.options.encryptRooms ?? true;
    const request = chatRoomRequest(this.botUserId, spaceId, name, binding, encrypted);
    const res = await this.rateLimited429(() => this.client.createRoom(request as Parameters<MatrixClient["createRoom"]>[0]));
    const roomId = asRoomId(res.room_id);
    if (encrypted) this.sender.crypto?.markEncrypted(roomId);
    await this.setSpaceChild(spaceId, roomId, true);
    if (encrypted) await this.ownerInSync(roomId, binding.owner);
    return roomId;
  }

  /**
   * Waits until the sync shows the owner invited to a new encrypted room.
   * The crypto shares a message's room key with the members the synced state
   * holds, and the sync can show the new room before Synapse has added the
   * invite; a greeting sent then would stay undecryptable for the owner
   * (a later share of the session starts at a later message).
   */
  private async ownerInSync(roomId: RoomId, owner: UserId): Promise<void> {
    const invited = await untilSynced(
      () => {
        const membership = this.client.getRoom(roomId)?.getMember(owner)?.membership;
        return membership === "invite" || membership === "join" ? true : undefined;
      },
      this.options.memberSyncWaitMs ?? MEMBER_SYNC_WAIT_MS,
      50,
    );
    if (!invited) this.logger.warn({ room_id: roomId, user: owner }, "the owner's invite has not shown in the sync; sending anyway");
  }

  // sendStateEvent is typed by the SDK's own table of state events; custom
  // types (ours) and the empty `{}` that removes a Space child are not in it.

  /** Adds a room to a Space, or takes it out (`{}` content). */
  async setSpaceChild(spaceId: RoomId, roomId: RoomId, present: boolean): Promise<void> {
    const content = present ? { via: [serverOf(this.botUserId)], suggested: true } : {};
    await this.rateLimited429(() => this.client.sendStateEvent(spaceId, "m.space.child" as never, content as never, roomId));
  }

  async writeBinding(roomId: RoomId, binding: RoomBinding): Promise<void> {
    await this.rateLimited429(() =>
      this.client.sendStateEvent(roomId, BINDING_EVENT as never, toContent(binding) as never, ""),
    );
  }

  async rename(roomId: RoomId, name: string): Promise<void> {
    await this.rateLimited429(() => this.client.setRoomName(roomId, name));
  }

  roomLink(roomId: RoomId): string {
    return `https://matrix.to/#/${encodeURIComponent(roomId)}`;
  }

  async invite(roomId: RoomId, user: UserId): Promise<void> {
    try {
      await this.rateLimited429(() => this.client.invite(roomId, user));
    } catch (err) {
      // Already joined or invited is fine; anything else is worth a log line.
      this.logger.debug({ err, room_id: roomId, user }, "invite not sent");
    }
  }

  /**
   * The room's binding if the bot created the room and wrote it (binding.ts).
   * The synced state has whole events; a room the SDK does not hold yet is
   * read over REST as whole events too, never as bare content.
   */
  async readBinding(roomId: RoomId): Promise<RoomBinding | null> {
    const log = this.logger.child({ room_id: roomId });
    try {
      const room = this.client.getRoom(roomId);
      let lookup: StateLookup;
      if (room?.currentState.getStateEvents("m.room.create", "")) {
        lookup = syncedState(room);
      } else {
        const events = await this.rateLimited429(() => this.client.roomState(roomId));
        lookup = (type) => events.find((e) => e.type === type && e.state_key === "");
      }
      const verdict = trustedBinding(lookup, this.botUserId);
      if (verdict.ok) return verdict.binding;
      if (verdict.reason !== "no binding") log.warn({ reason: verdict.reason }, "room binding not trusted");
      return null;
    } catch (err) {
      log.debug({ err }, "room state not readable");
      return null;
    }
  }

  async react(roomId: RoomId, eventId: EventId, emoji: string, key: string): Promise<EventId | null> {
    const content = { "m.relates_to": { rel_type: "m.annotation", event_id: eventId, key: emoji } };
    try {
      return await this.sender.send(roomId, "m.reaction", content, key, DECORATION);
    } catch (err) {
      this.logger.warn({ err, room_id: roomId, event_id: eventId }, "could not react");
      return null;
    }
  }

  async redact(roomId: RoomId, eventId: EventId, key: string): Promise<void> {
    try {
      await this.sender.redact(roomId, eventId, key, DECORATION);
    } catch (err) {
      this.logger.warn({ err, room_id: roomId, event_id: eventId }, "could not redact");
    }
  }

  async markRead(roomId: RoomId, eventId: EventId): Promise<void> {
    try {
      await this.sender.receipt(roomId, eventId, "m.read", DECORATION);
    } catch (err) {
      this.logger.warn({ err, room_id: roomId, event_id: eventId }, "could not send a read receipt");
    }
  }

  stop(): void {
    this.typing.stopAll();
  }

  private pacerFor(roomId: RoomId): EditPacer {
    let pacer = this.pacers.get(roomId);
    if (!pacer) this.pacers.set(roomId, (pacer = new EditPacer(this.options.editIntervalMs)));
    return pacer;
  }

  /** Requests that are not idempotent are retried only on 429, where nothing was done (the `once` policy). */
  private rateLimited429<T>(request: () => Promise<T>): Promise<T> {
    return retrying(policies.once, { logger: this.logger, what: "homeserver request" }, request);
  }

}
