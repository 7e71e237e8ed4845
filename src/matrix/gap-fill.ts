import { Direction, Filter, MatrixEvent, Method, type MatrixClient } from "matrix-js-sdk";
import type { Logger } from "pino";
import type { IncomingEvent } from "../core/incoming.js";
import { afterDecryption } from "./convert.js";

type MessagesPage = Awaited<ReturnType<MatrixClient["createMessagesRequest"]>>;

const PAGE_SIZE = 100;
const MAX_PAGES = 20;

/**
 * After a downtime, a busy room's incremental sync comes back "limited": it
 * holds only the newest events, and the ones before them were never seen.
 * This pages backwards from the gap until it meets an event the ledger
 * knows or one the bot sent, then hands the missed events on oldest first — followed by the live
 * events that arrived meanwhile, so the room's order is kept.
 *
 * It never pages back past the history floor (`floor()`): the position a
 * rebuild through sliding sync started from (sliding-first-sync.ts). What
 * came before it is history, as a classic first sync's one event a room
 * (recorded in the ledger, a fence here) marked it.
 */
export class GapFiller {
  private readonly buffers = new Map<string, IncomingEvent[]>();

  constructor(
    private readonly client: MatrixClient,
    private readonly logger: Logger,
    private readonly known: (eventId: string) => boolean,
    private readonly emit: (event: IncomingEvent) => void,
    private readonly floor: () => string | undefined = () => undefined,
  ) {}

  /** True while a room's gap is being filled: its live events must wait. */
  holds(roomId: string): boolean {
    return this.buffers.has(roomId);
  }

  hold(event: IncomingEvent): void {
    this.buffers.get(event.roomId)?.push(event);
  }

  start(roomId: string, fromToken: string | null): void {
    if (this.buffers.has(roomId) || !fromToken) return;
    this.buffers.set(roomId, []);
    void this.fetchMissed(roomId, fromToken)
      .catch((err: unknown) => {
        this.logger.error({ err, room_id: roomId }, "could not fill a sync gap; older messages stay unanswered");
        return [] as IncomingEvent[];
      })
      .then((missed) => {
        const held = this.buffers.get(roomId) ?? [];
        this.buffers.delete(roomId);
        if (missed.length) this.logger.info({ room_id: roomId, events: missed.length }, "sync gap filled");
        for (const event of [...missed, ...held]) this.emit(event);
      });
  }

  private async fetchMissed(roomId: string, fromToken: string): Promise<IncomingEvent[]> {
    const missed: IncomingEvent[] = [];
    let from: string | undefined = fromToken;
    for (let page = 0; page < MAX_PAGES && from; page++) {
      const res = await this.page(roomId, from);
      for (const raw of res.chunk) {
        // The bot's own event is a fence too: what came before it arrived
        // while the bot was live, so the ledger has it (even once pruned).
        if (this.known(raw.event_id) || raw.sender === this.client.getUserId()) return missed;
        const event = new MatrixEvent({ ...raw, room_id: roomId });
        // No grace period here: a missed message without its key is reported at once.
        await this.client.decryptEventIfNeeded(event);
        const incoming = afterDecryption(event);
        if (incoming) missed.unshift(incoming);
      }
      from = res.end;
    }
    if (from) this.logger.warn({ room_id: roomId, pages: MAX_PAGES }, "sync gap larger than the backfill bound; older messages skipped");
    return missed;
  }

  /**
   * One page of /messages backwards from `from`, down to the history floor
   * if there is one: the request createMessagesRequest makes for a
   * lazy-loading client (which the bot is), plus the `to` it cannot send.
   */
  private page(roomId: string, from: string): Promise<MessagesPage> {
    const to = this.floor();
    const params = { from, ...(to && { to }), dir: Direction.Backward, limit: String(PAGE_SIZE), filter: JSON.stringify(Filter.LAZY_LOADING_MESSAGES_FILTER) };
    return this.client.http.authedRequest<MessagesPage>(Method.Get, `/rooms/${encodeURIComponent(roomId)}/messages`, params);
  }
}
