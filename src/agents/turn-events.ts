/** Mapping between wire frames (snake_case) and the core's types (camelCase). */
import type { TurnEvent, TurnRequest } from "../core/agent-port.js";
import type { AgentTurnFrame, MessageFrame } from "./protocol.js";

export function toMessageFrame(request: TurnRequest): MessageFrame {
  const { displayName } = request.user;
  return {
    type: "message",
    request_id: request.turnId,
    chat_id: request.chatId,
    user: { id: request.user.id, ...(displayName !== undefined && { display_name: displayName }) },
    text: request.text,
    attachments: request.attachments.map((a) => ({ path: a.path, name: a.name, mime: a.mime, size: a.size })),
  };
}

const cellText = (cell: string | number | boolean | null): string => (cell === null ? "" : String(cell));

/** Drops undefined optionals so events compare cleanly and match exactOptionalPropertyTypes styles. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function toTurnEvent(frame: AgentTurnFrame): TurnEvent {
  switch (frame.type) {
    case "text":
      return { type: "text", delta: frame.delta };
    case "tool_call":
      return defined({ type: "tool_call", callId: frame.call_id, name: frame.name, args: frame.args });
    case "tool_result":
      return defined({ type: "tool_result", callId: frame.call_id, ok: frame.ok, summary: frame.summary });
    case "progress":
      return { type: "progress", text: frame.text };
    case "block": {
      const b = frame.block;
      return b.kind === "table"
        ? { type: "block", block: { kind: "table", headers: b.headers, rows: b.rows.map((r) => r.map(cellText)) } }
        : { type: "block", block: defined({ kind: "code", language: b.language, code: b.code }) };
    }
    case "file":
      return defined({ type: "file", path: frame.path, name: frame.name, mime: frame.mime, caption: frame.caption });
    case "confirm":
      return { type: "confirm", confirmId: frame.confirm_id, prompt: frame.prompt };
    case "end":
      return frame.usage === undefined
        ? { type: "end" }
        : { type: "end", usage: { inputTokens: frame.usage.input_tokens, outputTokens: frame.usage.output_tokens } };
    case "error":
      return { type: "error", code: frame.code, message: frame.message, retryable: frame.retryable };
  }
}
