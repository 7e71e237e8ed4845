/**
 * The seam between the reference agent's transport (session.ts) and what it
 * answers. `scripted` is implemented here; `llm` plugs in behind the same
 * interface later.
 */
import type { AgentFrame, MessageFrame } from "../agents/protocol.js";

/** Frames a responder may send for its turn; the session adds `request_id`. */
export type TurnOutput =
  | { type: "text"; delta: string }
  | { type: "tool_call"; call_id: string; name: string; args?: unknown }
  | { type: "tool_result"; call_id: string; ok: boolean; summary?: string }
  | { type: "progress"; text: string }
  | Omit<Extract<AgentFrame, { type: "block" }>, "request_id">
  | Omit<Extract<AgentFrame, { type: "file" }>, "request_id">;

export interface TurnContext {
  readonly message: MessageFrame;
  /** Aborted when the surface cancels the turn or the socket goes away. */
  readonly signal: AbortSignal;
  /** Sends one frame of the turn; silently dropped once the turn is over. */
  send: (frame: TurnOutput) => void;
  /** Ends the turn (once; later calls are ignored). */
  end(usage?: { input_tokens: number; output_tokens: number }): void;
  /** Fails the turn (once). */
  fail(code: string, message: string, retryable: boolean): void;
  /** Asks the user; resolves false when refused, cancelled or disconnected. */
  confirm(prompt: string): Promise<boolean>;
  /** Pushes a `notify` for this chat after `delayMs`, on whichever surface connection is open then. */
  notifyLater(delayMs: number, text: string): void;
  /** Test hooks: raw bytes on the socket, bypassing every check. */
  sendRaw(raw: string): void;
  /** Kills the socket without a close handshake. */
  terminateSocket(): void;
  /** True while the surface's connection is up (a runaway stops when it goes). */
  open(): boolean;
  /** Test hook for runaway agents: a `cancel` of this turn is recorded, then ignored. */
  ignoreCancel(): void;
  /** Resolves once the socket's send buffer has drained below a few MiB (a flood's backpressure). */
  drained(): Promise<void>;
}

export interface Responder {
  readonly mode: "scripted" | "llm";
  /** Handles one turn. If it returns without ending the turn, the session sends `end`. */
  handleTurn(ctx: TurnContext): Promise<void>;
  /** The surface will never use this chat again. */
  chatClosed(chatId: string, reason: "cleared" | "archived"): void;
}
