import type { Logger } from "pino";
import type { Block } from "../core/agent-port.js";
import type { ReplyStream } from "../core/chat-port.js";
import type { EventId, RoomId } from "../core/ids.js";
import type { ToolTrail } from "../core/trail.js";
import type { EditPacer } from "./edit-pacer.js";
import { editContent, markdownContent } from "./message-content.js";
import { blockToMarkdown } from "./render.js";
import type { MatrixSender } from "./sender.js";
import { cutPoint, MAX_SEGMENT_BYTES } from "./split.js";
import { TextQueue } from "./text-queue.js";
import { firstSendReady, FIRST_SENTENCE_MAX_CHARS, FIRST_SENTENCE_WINDOW_MS } from "./first-send.js";
import { withTrail } from "./trail-render.js";

/** The message currently being written (the edit target); earlier ones are done and forgotten. */
interface LiveSegment {
  index: number;
  eventId: EventId | null;
  edits: number;
  /** What the live message shows now (for "anything new to show?"). */
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
 *
 * Memory holds only the live message's text and the tail not posted yet: a
 * finished message is sent once with its final text and then forgotten, so a
 * flood costs the same per message at the first megabyte as at the last.
 */
export class MatrixReplyStream implements ReplyStream {
  /** The live message's text (at most one message's worth once the pump has run). */
  private head = "";
  /** Text after `head` that the pump has not placed yet. */
  private readonly tail = new TextQueue();
  private anyText = false;
  private status: string | null = null;
  private live: LiveSegment = { index: 0, eventId: null, edits: 0, shown: "" };
  private first: EventId | null = null;
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
    this.add(delta);
  }

  appendBlock(block: Block): void {
    if (this.finished) return;
    this.add(blockToMarkdown(block));
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
    return this.first;
  }

  async finish(outcome: { stopped?: boolean }): Promise<void> {
    if (this.finished) return this.pump ?? undefined;
    if (outcome.stopped) {
      // A stop frees the room now: the live message keeps what fits in it,
      // and a backlog the homeserver has not seen yet is not posted.
      const rest = this.head + this.tail.peek(MAX_SEGMENT_BYTES + 1);
      this.head = rest.slice(0, cutPoint(rest, MAX_SEGMENT_BYTES - Buffer.byteLength(STOPPED_MARK)));
      this.tail.clear();
      if (this.anyText) this.tail.push(STOPPED_MARK);
    }
    this.status = null;
    this.finished = true;
    this.kick();
    await this.pump;
  }

  /** Code units held in memory: the live message's text and the unposted tail (for tests). */
  heldChars(): number {
    return this.head.length + this.tail.length;
  }

  private add(text: string): void {
    this.anyText = true;
    this.tail.push(text);
    this.kick();
  }

  private kick(): void {
    const waiter = this.waiter;
    const enough =
      (waiter?.kind === "first" && this.heldChars() >= FIRST_SEND_EAGER_CHARS) ||
      (waiter?.kind === "sentence" && this.firstSentenceReady());
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
    if (!this.first && !this.finished && this.heldChars() < FIRST_SEND_EAGER_CHARS) {
      const started = Date.now();
      await this.waitFor(FIRST_SEND_WINDOW_MS, "first");
      // The first event is what the push notification shows: text waits (a
      // little) for a first sentence, so the notification reads as one. A
      // status line (the agent started with a tool) goes out as it is.
      const left = FIRST_SENTENCE_WINDOW_MS - (Date.now() - started);
      if (!this.finished && left > 0 && this.anyText && !this.firstSentenceReady()) await this.waitFor(left, "sentence");
    }
    for (;;) {
      // Only one message's worth past the head is ever looked at.
      const peeked = this.tail.peek(MAX_SEGMENT_BYTES + 1);
      const rest = this.head + peeked;
      const cut = cutPoint(rest);
      if (cut < rest.length) {
        this.tail.drop(peeked.length);
        this.tail.unshift(rest.slice(cut));
        this.head = "";
        await this.publish(rest.slice(0, cut), true);
        this.live = { index: this.live.index + 1, eventId: null, edits: 0, shown: "" };
        continue;
      }
      this.head = rest;
      this.tail.clear();
      const view = this.view(rest);
      if (view !== null && (view !== this.live.shown || this.trailDue())) {
        const wait = this.lastPublish + this.pacer.intervalMs() - Date.now();
        if (this.live.eventId && !this.finished && wait > 0) {
          await this.waitFor(wait, "pace");
          continue; // more may have arrived while waiting: recompute
        }
        await this.publish(view, this.finished, true);
        continue;
      }
      if (this.finished) return;
      await new Promise<void>((resolve) => (this.waiter = { resolve, kind: "news" }));
    }
  }

  /** What the live message should show now, or null when there is nothing to show yet. */
  private view(rest: string): string | null {
    if (this.finished) return rest !== "" ? rest : this.live.index === 0 && !this.live.eventId && !this.trailDue() ? null : EMPTY_ANSWER;
    const status = this.status ? `_${this.status}_` : "";
    if (rest === "" && status === "") return null;
    return rest === "" ? status : status ? `${rest}\n\n${status}` : rest;
  }

  private lastPublish = 0;

  /** Before the first send all text is in the tail; only its start matters. */
  private firstSentenceReady(): boolean {
    return firstSendReady(this.head + this.tail.peek(FIRST_SENTENCE_MAX_CHARS));
  }

  /** The final publish of the live message still owes the trail (only the last message carries it). */
  private trailDue(): boolean {
    return this.finished && !this.trailShown && this.trail !== null && !this.trail.isEmpty();
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

  /** Sends the live message (or an edit of it) showing `markdown`. */
  private async publish(markdown: string, final: boolean, last = false): Promise<void> {
    const seg = this.live;
    let content = markdownContent(markdown, "m.text");
    // A cut message is published final too; the trail goes only on the last one (the live view).
    if (final && last && this.trailDue() && this.trail) {
      content = withTrail(content, markdown, this.trail.view());
      this.trailShown = true;
    }
    const opts = final ? { maxAttempts: FINAL_ATTEMPTS } : {};
    try {
      if (!seg.eventId) {
        seg.eventId = await this.sender.send(this.roomId, "m.room.message", content, `${this.key}.s${seg.index}`, opts);
        if (seg.index === 0) {
          this.first = seg.eventId;
          this.onFirstVisible?.();
        }
      } else {
        const suffix = final ? "final" : `e${++seg.edits}`;
        await this.sender.send(this.roomId, "m.room.message", editContent(seg.eventId, content), `${this.key}.s${seg.index}.${suffix}`, opts);
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
