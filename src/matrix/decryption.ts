/**
 * Holds a room's events until they are decrypted, keeping the room's order.
 * An event whose room key has not arrived does not hold up the room: it
 * waits aside for a grace period (late keys are common), is then reported
 * undecryptable once, and is still delivered if its key turns up later.
 */
import { MatrixEventEvent, type MatrixClient, type MatrixEvent } from "matrix-js-sdk";
import type { Logger } from "pino";

export interface DecryptionOptions {
  /** How long an undecryptable event waits for its key before the owner is told. */
  graceMs: number;
  /** How long a late key is still awaited after that (default a day). */
  lateWindowMs?: number;
  /** Most events awaiting keys at once; the oldest gives up first (default 1000). */
  maxWaiting?: number;
}

export interface DecryptionHandlers {
  /** A clear or decrypted event, in its room's order (late keys excepted). */
  ready(event: MatrixEvent): void;
  /** The grace period ran out without the key: called once per event. */
  undecryptable(event: MatrixEvent): void;
}

interface Waiting {
  event: MatrixEvent;
  onDecrypted: (ev: MatrixEvent) => void;
  timers: NodeJS.Timeout[];
}

export class DecryptionGate {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly waiting = new Map<string, Waiting>();

  constructor(
    private readonly client: MatrixClient,
    private readonly logger: Logger,
    private readonly opts: DecryptionOptions,
    private readonly handlers: DecryptionHandlers,
  ) {}

  /** Hands the event on in room order: at once when it is clear and nothing of its room is waiting. */
  submit(event: MatrixEvent): void {
    const roomId = event.getRoomId() ?? "";
    const before = this.chains.get(roomId);
    if (!before && !event.isEncrypted()) {
      this.handlers.ready(event);
      return;
    }
    const next = (before ?? Promise.resolve())
      .then(() => this.decrypt(event))
      .then((ok) => (ok ? this.handlers.ready(event) : this.awaitKey(event)))
      .catch((err: unknown) => this.logger.error({ err, event_id: event.getId() }, "could not hand on an encrypted event"));
    this.chains.set(roomId, next);
    void next.then(() => {
      if (this.chains.get(roomId) === next) this.chains.delete(roomId);
    });
  }

  /** Events still waiting for a key (metrics, tests). */
  waitingCount(): number {
    return this.waiting.size;
  }

  /** Stops waiting for late keys; resolves once no decryption is running. */
  async stop(): Promise<void> {
    for (const id of [...this.waiting.keys()]) this.forget(id);
    await Promise.allSettled([...this.chains.values()]);
  }

  private async decrypt(event: MatrixEvent): Promise<boolean> {
    await this.client.decryptEventIfNeeded(event);
    return !event.isDecryptionFailure();
  }

  private awaitKey(event: MatrixEvent): void {
    const id = event.getId();
    if (!id || this.waiting.has(id)) return;
    this.logger.info({ event_id: id, room_id: event.getRoomId(), reason: event.decryptionFailureReason }, "message not decryptable yet; waiting for its key");
    const onDecrypted = (ev: MatrixEvent): void => {
      if (ev.isDecryptionFailure()) return;
      this.forget(id);
      this.logger.info({ event_id: id }, "late room key arrived; message decrypted");
      this.handlers.ready(ev);
    };
    const grace = setTimeout(() => {
      if (event.isDecryptionFailure()) this.handlers.undecryptable(event);
    }, this.opts.graceMs);
    const giveUp = setTimeout(() => this.forget(id), this.opts.graceMs + (this.opts.lateWindowMs ?? 24 * 60 * 60_000));
    giveUp.unref();
    event.on(MatrixEventEvent.Decrypted, onDecrypted);
    this.waiting.set(id, { event, onDecrypted, timers: [grace, giveUp] });
    const oldest = this.waiting.keys().next().value;
    if (this.waiting.size > (this.opts.maxWaiting ?? 1000) && oldest !== undefined) this.forget(oldest);
  }

  private forget(id: string): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    for (const t of w.timers) clearTimeout(t);
    w.event.off(MatrixEventEvent.Decrypted, w.onDecrypted);
  }
}
