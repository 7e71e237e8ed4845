import type { MatrixClient } from "matrix-js-sdk";
import type { Logger } from "pino";
import type { RoomId } from "../core/ids.js";

const TYPING_TIMEOUT_MS = 30_000;
const REFRESH_MS = 20_000;

/**
 * Keeps the typing indicator on while a room's agent works: Matrix typing
 * lapses after its timeout, so it is refreshed before then, and turned off
 * explicitly at the end of the turn. Failures only cost the indicator.
 */
export class TypingIndicator {
  private readonly timers = new Map<RoomId, NodeJS.Timeout>();

  constructor(
    private readonly client: MatrixClient,
    private readonly logger: Logger,
  ) {}

  set(roomId: RoomId, on: boolean): void {
    const timer = this.timers.get(roomId);
    if (timer) clearInterval(timer);
    this.timers.delete(roomId);
    this.send(roomId, on);
    if (on) this.timers.set(roomId, setInterval(() => this.send(roomId, true), REFRESH_MS).unref());
  }

  stopAll(): void {
    for (const roomId of [...this.timers.keys()]) this.set(roomId, false);
  }

  private send(roomId: RoomId, on: boolean): void {
    this.client.sendTyping(roomId, on, TYPING_TIMEOUT_MS).catch((err: unknown) => {
      this.logger.debug({ err, room_id: roomId }, "typing notification failed");
    });
  }
}
