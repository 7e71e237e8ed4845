/**
 * The reference agent's `llm` mode: each turn streams from an
 * OpenAI-compatible chat-completions endpoint, with per-chat history in
 * memory and tools over the workspace (llm-tools.ts).
 */
import type { Logger } from "pino";
import { attachmentLine } from "./directives.js";
import { ProviderError, streamCompletion, type ChatMessage, type ProviderConfig } from "./llm-stream.js";
import { runTool, TOOL_SPECS } from "./llm-tools.js";
import type { Responder, TurnContext } from "./responder.js";

export interface LlmResponderOptions {
  provider: ProviderConfig;
  workspace: string;
  logger: Logger;
  /** Model ↔ tool round trips per turn before the turn fails (default 8). */
  maxToolRounds?: number;
  systemPrompt?: string;
}

export const DEFAULT_SYSTEM_PROMPT =
  "You are a helpful assistant in a Matrix chat. Answer in Markdown. " +
  "You can list, read and send files in your workspace with the tools provided; " +
  "files the user sends arrive under inbox/.";

export function createLlmResponder(opts: LlmResponderOptions): Responder & { historyOf(chatId: string): readonly ChatMessage[] | undefined } {
  const histories = new Map<string, ChatMessage[]>();
  const maxRounds = opts.maxToolRounds ?? 8;
  const system: ChatMessage = { role: "system", content: opts.systemPrompt ?? DEFAULT_SYSTEM_PROMPT };

  async function handleTurn(ctx: TurnContext): Promise<void> {
    const { message, signal } = ctx;
    const log = opts.logger.child({ chat_id: message.chat_id, request_id: message.request_id });
    const history = histories.get(message.chat_id) ?? [];
    // This turn's messages join the history only once the turn ends, so a
    // failed turn leaves no half-finished exchange behind.
    const turn: ChatMessage[] = [{ role: "user", content: userContent(message) }];
    let usage: { input_tokens: number; output_tokens: number } | undefined;

    for (let round = 0; round <= maxRounds; round++) {
      let streamed = "";
      let completion;
      try {
        completion = await streamCompletion(
          opts.provider,
          { messages: [system, ...history, ...turn], tools: TOOL_SPECS },
          (delta) => {
            streamed += delta;
            ctx.send({ type: "text", delta });
          },
          signal,
        );
      } catch (err) {
        if (signal.aborted) {
          // Cancelled: keep what the user saw, so the model knows it was cut short.
          commit(message.chat_id, history, [...turn, { role: "assistant", content: `${streamed} [stopped by the user]` }]);
          return;
        }
        const retryable = err instanceof ProviderError ? err.retryable : false;
        log.warn({ err: err instanceof Error ? err.message : String(err) }, "provider request failed");
        ctx.fail("provider_error", err instanceof Error ? err.message : String(err), retryable);
        return;
      }
      if (completion.usage) {
        usage = {
          input_tokens: (usage?.input_tokens ?? 0) + completion.usage.input_tokens,
          output_tokens: (usage?.output_tokens ?? 0) + completion.usage.output_tokens,
        };
      }
      if (completion.toolCalls.length === 0) {
        commit(message.chat_id, history, [...turn, { role: "assistant", content: completion.content }]);
        ctx.end(usage);
        return;
      }
      turn.push({ role: "assistant", content: completion.content || null, tool_calls: completion.toolCalls });
      for (const call of completion.toolCalls) {
        ctx.send({ type: "tool_call", call_id: call.id, name: call.function.name, args: safeJson(call.function.arguments) });
        const outcome = await runTool(opts.workspace, call.function.name, call.function.arguments, ctx.send);
        ctx.send({ type: "tool_result", call_id: call.id, ok: outcome.ok, summary: outcome.summary });
        turn.push({ role: "tool", tool_call_id: call.id, content: outcome.content });
      }
      if (signal.aborted) return;
    }
    ctx.fail("too_many_tool_rounds", `the model used tools more than ${maxRounds} times in one turn`, false);
  }

  function commit(chatId: string, history: ChatMessage[], turn: ChatMessage[]): void {
    // A chat closed while its turn ran stays forgotten.
    if (closed.has(chatId)) return;
    histories.set(chatId, [...history, ...turn]);
  }
  const closed = new Set<string>();

  return {
    mode: "llm",
    handleTurn,
    chatClosed(chatId) {
      histories.delete(chatId);
      closed.add(chatId); // chat_ids are never reused, so remembering the id is safe
    },
    historyOf: (chatId) => histories.get(chatId),
  };
}

function userContent(message: TurnContext["message"]): string {
  return [message.text, ...message.attachments.map(attachmentLine)].join("\n");
}

function safeJson(raw: string): unknown {
  try {
    return raw.trim() === "" ? {} : (JSON.parse(raw) as unknown);
  } catch {
    return { raw };
  }
}
