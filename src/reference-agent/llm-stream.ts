/**
 * A streaming client for OpenAI-compatible `POST /chat/completions`
 * (`stream: true`): parses the server-sent events, hands text deltas out as
 * they arrive, and assembles tool calls from their fragments.
 */

export type ChatMessage =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string | null; tool_calls?: ToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface ToolSpec {
  type: "function";
  function: { name: string; description: string; parameters: object };
}

export interface ProviderConfig {
  /** Base URL, e.g. https://api.openai.com/v1 (the client appends /chat/completions). */
  url: string;
  apiKey?: string;
  model: string;
}

export interface Completion {
  content: string;
  toolCalls: ToolCall[];
  usage?: { input_tokens: number; output_tokens: number };
}

export class ProviderError extends Error {
  override readonly name = "ProviderError";
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

interface ChunkDelta {
  content?: string | null;
  tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: string } }>;
}
interface Chunk {
  choices?: Array<{ delta?: ChunkDelta }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
}

/** Streams one completion; `onText` sees each content delta. Rejects with ProviderError or the abort reason. */
export async function streamCompletion(
  provider: ProviderConfig,
  body: { messages: ChatMessage[]; tools?: ToolSpec[] },
  onText: (delta: string) => void,
  signal: AbortSignal,
): Promise<Completion> {
  let res: Response;
  try {
    res = await fetch(`${provider.url.replace(/\/+$/, "")}/chat/completions`, {
      method: "POST",
      signal,
      headers: {
        "content-type": "application/json",
        accept: "text/event-stream",
        ...(provider.apiKey && { authorization: `Bearer ${provider.apiKey}` }),
      },
      body: JSON.stringify({
        model: provider.model,
        stream: true,
        stream_options: { include_usage: true },
        messages: body.messages,
        ...(body.tools && body.tools.length > 0 && { tools: body.tools }),
      }),
    });
  } catch (err) {
    if (signal.aborted) throw err;
    throw new ProviderError(`provider unreachable: ${err instanceof Error ? err.message : String(err)}`, true);
  }
  if (!res.ok || !res.body) {
    const detail = (await res.text().catch(() => "")).slice(0, 200);
    throw new ProviderError(`provider answered HTTP ${res.status}${detail ? `: ${detail}` : ""}`, res.status === 429 || res.status >= 500);
  }

  const completion: Completion = { content: "", toolCalls: [] };
  const calls = new Map<number, ToolCall>();
  const onChunk = (chunk: Chunk): void => {
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta ?? {};
      if (delta.content) {
        completion.content += delta.content;
        onText(delta.content);
      }
      for (const frag of delta.tool_calls ?? []) {
        const index = frag.index ?? 0;
        let call = calls.get(index);
        if (!call) calls.set(index, (call = { id: frag.id ?? `call_${index}`, type: "function", function: { name: "", arguments: "" } }));
        if (frag.id) call.id = frag.id;
        call.function.name += frag.function?.name ?? "";
        call.function.arguments += frag.function?.arguments ?? "";
      }
    }
    if (chunk.usage) {
      completion.usage = { input_tokens: chunk.usage.prompt_tokens ?? 0, output_tokens: chunk.usage.completion_tokens ?? 0 };
    }
  };

  for await (const data of sseData(res.body)) {
    if (data === "[DONE]") break;
    let chunk: Chunk;
    try {
      chunk = JSON.parse(data) as Chunk;
    } catch {
      throw new ProviderError("provider sent a malformed stream chunk", true);
    }
    onChunk(chunk);
  }
  completion.toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c);
  return completion;
}

/** Yields the `data` of each server-sent event (multi-line data joined with "\n"). */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, "");
      buffer = buffer.slice(nl + 1);
      if (line === "") {
        if (data.length > 0) yield data.join("\n");
        data = [];
      } else if (line.startsWith("data:")) {
        data.push(line.slice(5).replace(/^ /, ""));
      } // comments (":") and other fields are ignored
    }
  }
  // A stream may end without the final newline.
  const last = (buffer + decoder.decode()).replace(/\r$/, "");
  if (last.startsWith("data:")) data.push(last.slice(5).replace(/^ /, ""));
  if (data.length > 0) yield data.join("\n");
}
