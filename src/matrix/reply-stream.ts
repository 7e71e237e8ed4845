import type { Logger } from "pino";
import type { Block } from "../core/agent-port.js";
import type { ReplyStream } from "../core/chat-port.js";
import type { EventId, RoomId } from "../core/ids.js";
import type { ToolTrail } from "../core/trail.js";
import type { EditPacer } from "./edit-pacer.js";
import { editContent, markdownContent } from "./message-content.js";
import { blockToMarkdown } from "./render.js";
import type { MatrixSender } from "./sender.js";
import { cutPoint } from "./split.js";
import { firstSendReady, FIRST_SENTENCE_WINDOW_MS } from "./first-send.js";
import { withTrail } from "./trail-render.js";

interface Segment {
  start: number;
  /** Exclusive end once the segment is closed; null while it is the live one. */
  end: number | null;
  eventId: EventId | null;
  edits: number;
  shown: string;
}

export const STOPPED_MARK = "\n\n⏹ _stopped_";
const EMPTY_ANSWER = "_(no text)_";
const FINAL_ATTEMPTS = 40;
/** Well under the 50 ms budget from the agent's first frame to visible text. */
export const FIRST_SEND_WINDOW_MS = 8;
/** A streaming answer with this much text goes out at once: the window is for short answers. */
export const FIRST_SEND_EAGER_CHARS = 200;

/**
 * One streamed answer. The first text is posted at once; later text becomes
 * edits of that message at the pacer's pace, one edit in flight; text past
 * the size of one event continues in a new message. `finish` publishes the
 * exact final text of every message, however slow the homeserver is.
 */
export class MatrixReplyStream implements ReplyStream {
  private text = "";
  private status: string | null = null;
  private readonly segments: Segment[] = [{ start: 0, end: null, eventId: null, edits: 0, shown: "" }];
  private finished = false;
  /**
   * The pump's pause. Any change ends a wait for `news`; only `finish` ends a
   * `pace` wait; the `first` window also ends once enough text is there.
   */
  private waiter: { resolve: () => void; kind: "news" | "pace" | "first" | "sentence" } | null = null;
  /** Shown under the final answer (trail-render.ts); published once. */
  private trail: ToolTrail | null = null;
  private trailShown = false;
  private pump: Promise<void> | null = null;
  /** Matrix events sent for this answer (messages + edits), for metrics and tests. */
  eventsSent = 0;

  constructor(
    private readonly sender: MatrixSender,
    private readonly roomId: RoomId,
    private readonly key: string,
    private readonly pacer: EditPacer,
    private readonly logger: Logger,
    private readonly onFirstVisible?: () => void,
  ) {}

  appendText(delta: string): void {
    if (this.finished || delta === "") return;
    this.text += delta;
    this.kick();
  }

  appendBlock(block: Block): void {
    if (this.finished) return;
    this.text += blockToMarkdown(block);
    this.kick();
  }

  setStatus(line: string | null): void {
    if (this.finished || line === this.status) return;
    this.status = line;
    this.kick();
  }

  showTrail(trail: ToolTrail): void {
    this.trail = trail;
  }

  firstEventId(): EventId | null {
    return this.segments[0]?.eventId ?? null;
  }

  async finish(outcome: { stopped?: boolean }): Promise<void> {
    if (this.finished) return this.pump ?? undefined;
    if (outcome.stopped && this.text !== "") this.text += STOPPED_MARK;
    this.status = null;
    this.finished = true;
    this.kick();
    await this.pump;
  }

  /** The text shown so far (for tests and `!stop`). */
  currentText(): string {
    return this.text;
  }

  private kick(): void {
    const waiter = this.waiter;
    const enough =
      (waiter?.kind === "first" && this.text.length >= FIRST_SEND_EAGER_CHARS) ||
      (waiter?.kind === "sentence" && firstSendReady(this.text));
    if (waiter && (waiter.kind === "news" || this.finished || enough)) {
      this.waiter = null;
      waiter.resolve();
    }
    if (!this.pump) this.pump = this.run().finally(() => (this.pump = null));
  }

  private async run(): Promise<void> {
    // The first message waits a few ms for the rest of a short answer (its
    // text and `end` often arrive in separate socket reads): one event
    // instead of a message and an edit right behind it. `finish`, or text
    // enough to show, cuts it short.
    if (!this.segments[0]?.eventId && !this.finished && this.text.length < FIRST_SEND_EAGER_CHARS) {
      const started = Date.now();
      await this.waitFor(FIRST_SEND_WINDOW_MS, "first");
      // The first event is what the push notification shows: it waits (a
      // little) for a first sentence, so the notification reads as one.
      const left = FIRST_SENTENCE_WINDOW_MS - (Date.now() - started);
      if (!this.finished && left > 0 && !firstSendReady(this.text)) await this.waitFor(left, "sentence");
    }
    for (;;) {
      const live = this.segments[this.segments.length - 1] as Segment;
      const rest = this.text.slice(live.start);
      const cut = cutPoint(rest);
      if (cut < rest.length) {
        live.end = live.start + cut;
        await this.publish(this.segments.length - 1, this.text.slice(live.start, live.end), true);
        this.segments.push({ start: live.end, end: null, eventId: null, edits: 0, shown: "" });
        continue;
      }
      const view = this.view(rest);
      if (view !== null && (view !== live.shown || this.trailDue(live))) {
        const wait = this.lastPublish + this.pacer.intervalMs() - Date.now();
        if (live.eventId && !this.finished && wait > 0) {
          await this.waitFor(wait, "pace");
          continue; // more may have arrived while waiting: recompute
        }
        await this.publish(this.segments.length - 1, view, this.finished);
        continue;
      }
      if (this.finished) return;
      await new Promise<void>((resolve) => (this.waiter = { resolve, kind: "news" }));
    }
  }

  /** What the live message should show now, or null when there is nothing to show yet. */
  private view(rest: string): string | null {
    if (this.finished) {
      const nothingSent = this.segments.length === 1 && !this.segments[0]?.eventId;
      return rest !== "" ? rest : nothingSent && !this.trailDue(this.segments[0] as Segment) ? null : EMPTY_ANSWER;
    }
    const status = this.status ? `_${this.status}_` : "";
    if (rest === "" && status === "") return null;
    return rest === "" ? status : status ? `${rest}\n\n${status}` : rest;
  }

  private lastPublish = 0;

  /** The final publish of the live message still owes the trail. */
  private trailDue(seg: Segment): boolean {
    return this.finished && seg.end === null && !this.trailShown && this.trail !== null && !this.trail.isEmpty();
  }

  /** Waits `ms`, or less when the answer finishes meanwhile; new text just waits its turn. */
  private async waitFor(ms: number, kind: "pace" | "first" | "sentence"): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiter = { resolve: done, kind };
    });
    this.waiter = null;
  }

  private async publish(index: number, markdown: string, final: boolean): Promise<void> {
    const seg = this.segments[index] as Segment;
    let content = markdownContent(markdown, "m.text");
    if (final && this.trailDue(seg) && this.trail) {
      content = withTrail(content, markdown, this.trail.view());
      this.trailShown = true;
    }
    const opts = final ? { maxAttempts: FINAL_ATTEMPTS } : {};
    try {
      if (!seg.eventId) {
        seg.eventId = await this.sender.send(this.roomId, "m.room.message", content, `${this.key}.s${index}`, opts);
        if (index === 0) this.onFirstVisible?.();
      } else {
        const suffix = final ? "final" : `e${++seg.edits}`;
        await this.sender.send(this.roomId, "m.room.message", editContent(seg.eventId, content), `${this.key}.s${index}.${suffix}`, opts);
      }
      this.eventsSent++;
      this.pacer.onSuccess();
      seg.shown = markdown;
    } catch (err) {
      // Intermediate edits may be lost (the next one carries everything);
      // a lost final is logged loudly.
      this.logger.error({ err, room_id: this.roomId, final }, "could not publish answer text");
      seg.shown = markdown;
    } finally {
      this.lastPublish = Date.now();
    }
  }
}
