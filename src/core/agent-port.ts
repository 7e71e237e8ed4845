import type { AgentId, ChatId, TurnId, UserId } from "./ids.js";

/** A file the user sent, already written into the agent's workspace. */
export interface Attachment {
  /** Relative to the agent's workspace root, e.g. `inbox/17/1700000000000-a.png`. */
  path: string;
  name: string;
  mime: string;
  size: number;
}

export interface TurnRequest {
  turnId: TurnId;
  chatId: ChatId;
  user: { id: UserId; displayName?: string };
  text: string;
  attachments: Attachment[];
}

export type TableBlock = { kind: "table"; headers: string[]; rows: string[][] };
export type CodeBlock = { kind: "code"; language?: string; code: string };
export type Block = TableBlock | CodeBlock;

/**
 * What an agent says during one turn, already validated. Exactly one `end` or
 * `error` closes a turn; the agent port guarantees nothing follows it.
 */
export type TurnEvent =
  | { type: "text"; delta: string }
  | { type: "tool_call"; callId: string; name: string; args?: unknown }
  | { type: "tool_result"; callId: string; ok: boolean; summary?: string }
  | { type: "progress"; text: string }
  | { type: "block"; block: Block }
  | { type: "file"; path: string; name?: string; mime?: string; caption?: string }
  | { type: "confirm"; confirmId: string; prompt: string }
  | { type: "end"; usage?: { inputTokens: number; outputTokens: number } }
  | {
      type: "error";
      /**
       * Agent codes pass through; the port adds `idle_timeout`,
       * `connection_lost`, `unavailable` and LIMIT_CODES.
       */
      code: string;
      message: string;
      retryable: boolean;
      /** For the port's own limit codes: the limit that was passed (bytes, count or ms). */
      limit?: number;
    };

export type TurnSink = (event: TurnEvent) => void;

/**
 * Codes of the errors the port ends a turn with when the agent passes one of
 * the surface's limits (besides `idle_timeout` and `connection_lost`); the
 * core words one notice for each. `limit` on the event says what was passed.
 */
export const LIMIT_CODES = {
  answerBytes: "limit_answer_bytes",
  files: "limit_files",
  confirms: "limit_confirms",
  turnLength: "limit_turn_length",
  frameRate: "limit_frame_rate",
  /** `!stop` asked the agent to stop and it did not end the turn in time. */
  cancelIgnored: "cancel_ignored",
} as const;

export type AgentStatus = "connected" | "connecting" | "unavailable";

/** Thrown (rejected) by `startTurn` when the agent cannot take the turn. */
export class AgentUnavailableError extends Error {
  constructor(
    readonly agentId: AgentId,
    readonly reason: string,
  ) {
    super(`agent ${agentId} unavailable: ${reason}`);
    this.name = "AgentUnavailableError";
  }
}

/**
 * The core's view of the agents. Implemented by `src/agents/` over protocol v1
 * WebSockets; core never sees a socket or a frame.
 */
export interface AgentPort {
  /**
   * Sends one user turn. Resolves once the `message` frame is on the wire;
   * rejects with AgentUnavailableError when the agent is unknown, not
   * connected within the connect grace period, or speaks another protocol.
   * After it resolves, `sink` receives the turn's events in order and exactly
   * one terminal event (`end` or `error`); the port synthesises
   * `error{code:"idle_timeout"}` after the idle timeout (not while a confirm
   * waits) and `error{code:"connection_lost"}` when the socket dies mid-turn.
   * Never throws from inside `sink` delivery.
   */
  startTurn(agentId: AgentId, request: TurnRequest, sink: TurnSink): Promise<void>;
  /**
   * Asks the agent to stop a turn. Fire and forget; never throws. If the
   * agent has not ended the turn within the cancel grace period, the port
   * ends it with `error{code:"cancel_ignored"}` and drops what follows.
   */
  cancel(agentId: AgentId, turnId: TurnId): void;
  /** The user's answer to a `confirm` (`always`: approved for this chat from now on). Fire and forget; never throws. */
  confirmResult(agentId: AgentId, turnId: TurnId, confirmId: string, approved: boolean, always?: boolean): void;
  /** The surface will never use `chatId` again. Fire and forget; never throws. */
  chatClosed(agentId: AgentId, chatId: ChatId, reason: "cleared" | "archived"): void;
  /** Registers the handler for agent-initiated `notify` frames. */
  onNotify(handler: (agentId: AgentId, chatId: ChatId, text: string, notifyId?: string) => void): void;
  status(agentId: AgentId): AgentStatus;
  /** Replaces the set of agents (registry hot reload): connects new ones, closes removed ones. */
  setAgents(agents: ReadonlyMap<AgentId, AgentEndpoint>): void;
  /** Closes every connection; pending turns end with `error{code:"connection_lost"}`. */
  close(): Promise<void>;
}

export interface AgentEndpoint {
  baseUrl: string;
  /** Bearer token for the upgrade request, already read from the env var the registry names. */
  token?: string;
}
