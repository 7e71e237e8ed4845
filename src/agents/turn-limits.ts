/**
 * What one turn may cost the surface, and the error codes the port uses when
 * a turn passes a limit. A runaway agent is stopped by these, not by memory
 * or the event loop running out.
 */
import type { AgentTurnFrame } from "./protocol.js";

export interface TurnLimits {
  /** UTF-8 bytes of text and blocks one answer may carry. */
  maxAnswerBytes: number;
  /** `file` frames one turn may send. */
  maxFiles: number;
  /** Distinct `confirm` questions one turn may ask. */
  maxConfirms: number;
  /** Longest a turn may run, whatever the agent sends. */
  maxTurnMs: number;
  /** After a `cancel`, how long the agent has to end the turn before the port ends it itself. */
  cancelGraceMs: number;
}

export const DEFAULT_TURN_LIMITS: TurnLimits = {
  maxAnswerBytes: 1024 * 1024,
  maxFiles: 20,
  maxConfirms: 5,
  maxTurnMs: 60 * 60_000,
  cancelGraceMs: 5_000,
};

/** Bytes a frame adds to the answer (text and blocks; other frames add nothing). */
export function answerBytesOf(frame: AgentTurnFrame): number {
  if (frame.type === "text") return Buffer.byteLength(frame.delta, "utf8");
  if (frame.type !== "block") return 0;
  const b = frame.block;
  if (b.kind === "code") return Buffer.byteLength(b.code, "utf8");
  let n = 0;
  for (const h of b.headers) n += Buffer.byteLength(h, "utf8");
  for (const row of b.rows) for (const cell of row) n += cell === null ? 0 : Buffer.byteLength(String(cell), "utf8");
  return n;
}
