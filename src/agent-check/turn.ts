/** One turn as the checker drives it: send a `message`, collect that request_id's frames, time the terminal frame. */
import { randomUUID } from "node:crypto";
import type { AgentFrame } from "../agents/protocol.js";
import type { ProbeSocket } from "./probe.js";

type TurnFrame = Extract<AgentFrame, { request_id?: string }>;

export interface TurnOutcome {
  requestId: string;
  /** Valid frames carrying this turn's request_id, in arrival order. */
  frames: TurnFrame[];
  /** Types of the terminal frames (`end` / `error`); exactly one is right. */
  terminals: string[];
  /** Frame types that arrived after the first terminal frame. */
  afterEnd: string[];
  /** Milliseconds from the message to the first terminal frame. */
  endMs?: number;
  /** The socket closed before the turn ended. */
  closed?: { code: number; reason: string };
}

export class Turn {
  readonly requestId = randomUUID();
  private readonly frames: TurnFrame[] = [];
  private readonly terminals: string[] = [];
  private readonly afterEnd: string[] = [];
  /** When the message was sent (epoch ms). */
  readonly startedAt = Date.now();
  private endMs: number | undefined;
  private readonly waiters = new Set<() => void>();
  private readonly unlisten: () => void;

  constructor(
    private readonly socket: ProbeSocket,
    chatId: string,
    text: string,
    extraFields: Record<string, unknown> = {},
  ) {
    this.unlisten = socket.listen((received) => {
      if (!received.parsed.ok) return;
      const frame = received.parsed.frame;
      if (!("request_id" in frame) || frame.request_id !== this.requestId) return;
      this.frames.push(frame);
      if (this.terminals.length > 0) this.afterEnd.push(frame.type);
      if (frame.type === "end" || frame.type === "error") {
        this.terminals.push(frame.type);
        this.endMs ??= Date.now() - this.startedAt;
      }
      this.wake();
    });
    socket.sendRaw(
      JSON.stringify({
        type: "message",
        request_id: this.requestId,
        chat_id: chatId,
        user: { id: "@agent-check:surfaces.invalid", display_name: "agent-check" },
        text,
        attachments: [],
        ...extraFields,
      }),
    );
  }

  get ended(): boolean {
    return this.terminals.length > 0;
  }

  get frameCount(): number {
    return this.frames.length;
  }

  /** Resolves when `check()` holds, the socket closed or `timeoutMs` passed; returns whether it held. */
  async until(check: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!check() && !this.socket.closeInfo && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        // Re-checks periodically too, so a close is noticed without a frame.
        const timer = setTimeout(done, Math.min(100, Math.max(0, deadline - Date.now())));
        this.waiters.add(done);
      });
    }
    return check();
  }

  /** Waits up to `timeoutMs` for the terminal frame, then `settleMs` for stray frames after it. */
  async finish(timeoutMs: number, settleMs: number): Promise<TurnOutcome> {
    await this.until(() => this.ended, timeoutMs);
    if (this.ended && !this.socket.closeInfo) await new Promise((r) => setTimeout(r, settleMs));
    this.unlisten();
    return {
      requestId: this.requestId,
      frames: [...this.frames],
      terminals: [...this.terminals],
      afterEnd: [...this.afterEnd],
      ...(this.endMs !== undefined && { endMs: this.endMs }),
      ...(!this.ended && this.socket.closeInfo && { closed: this.socket.closeInfo }),
    };
  }

  private wake(): void {
    for (const done of [...this.waiters]) done();
  }
}

/** Why a turn that should have ended with exactly one `end` did not, or undefined when it did. */
export function turnProblem(outcome: TurnOutcome, timeoutMs: number): string | undefined {
  if (outcome.closed) return `the socket closed (${outcome.closed.code}) before the turn ended`;
  if (outcome.terminals.length === 0) return `no end within ${timeoutMs} ms (${outcome.frames.length} frame(s) before that)`;
  if (outcome.terminals[0] === "error") {
    const error = outcome.frames.find((f) => f.type === "error");
    return `the turn failed: error ${error && error.type === "error" ? `${error.code}: ${error.message}` : ""}`.trim();
  }
  if (outcome.terminals.length > 1) return `${outcome.terminals.length} terminal frames (${outcome.terminals.join(", ")}); exactly one is allowed`;
  if (outcome.afterEnd.length > 0) return `frames after the end: ${outcome.afterEnd.join(", ")}`;
  return undefined;
}

/** A short description of a good turn for the report line. */
export function turnSummary(outcome: TurnOutcome): string {
  const text = outcome.frames.reduce((n, f) => n + (f.type === "text" ? f.delta.length : 0), 0);
  const kinds = [...new Set(outcome.frames.map((f) => f.type))].join(", ");
  return `${outcome.frames.length} frame(s) [${kinds}], ${text} text chars, end after ${outcome.endMs ?? "?"} ms`;
}
