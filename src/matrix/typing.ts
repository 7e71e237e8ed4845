import type { MatrixClient } from "matrix-js-sdk";
import type { Logger } from "pino";
import type { RoomId } from "../core/ids.js";

const TYPING_TIMEOUT_MS = 30_000;
const REFRESH_MS = 20_000;
/**
 * Typing shows only once a turn takes longer than this: a quick answer needs
 * no indicator, and each typing change is a request to the homeserver and a
 * wake-up of every member's sync, which slowed quick answers measurably.
 */
export const TYPING_DELAY_MS = 300;

interface RoomTyping {
  timer: NodeJS.Timeout;
  shown: boolean;
}

/**
 * Keeps the typing indicator on while a room's agent works: Matrix typing
 * lapses after its timeout, so it is refreshed before then, and turned off
 * explicitly at the end of the turn. Failures only cost the indicator.
 */
export class TypingIndicator {
  private readonly rooms = new Map<RoomId, RoomTyping>();

  constructor(
    private readonly client: MatrixClient,
    private readonly logger: Logger,
    private readonly delayMs = TYPING_DELAY_MS,
  ) {}

  set(roomId: RoomId, on: boolean): void {
    const current = this.rooms.get(roomId);
    if (current) {
      clearTimeout(current.timer);
      clearInterval(current.timer);
      this.rooms.delete(roomId);
    }
    if (!on) {
      if (current?.shown) this.send(roomId, false);
      return;
    }
    const state: RoomTyping = {
      shown: false,
      timer: setTimeout(() => {
        state.shown = true;
        this.send(roomId, true);
        state.timer = setInterval(() => this.send(roomId, true), REFRESH_MS).unref();
      }, this.delayMs).unref(),
    };
    this.rooms.set(roomId, state);
  }

  stopAll(): void {
    for (const roomId of [...this.rooms.keys()]) this.set(roomId, false);
  }

  private send(roomId: RoomId, on: boolean): void {
    this.client.sendTyping(roomId, on, TYPING_TIMEOUT_MS).catch((err: unknown) => {
      this.logger.debug({ err, room_id: roomId }, "typing notification failed");
    });
  }
}
