/** The scripted responder: deterministic answers driven by directives.ts. */
import { MAX_FRAME_BYTES } from "../agents/protocol.js";
import {
  attachmentLine,
  CODE_SAMPLE,
  DEFAULT_TOOL_QUERY,
  SLOWTOOL_STEP_MS,
  LONG_UNIT,
  longText,
  MARKDOWN_SAMPLE,
  parseDirective,
  PROSE_PIECES,
  TABLE_SAMPLE,
  toolOutcome,
  type BadKind,
} from "./directives.js";
import type { Responder, TurnContext } from "./responder.js";

/** Request id used by `/bad unknown-request`: never a real turn. */
export const GHOST_REQUEST_ID = "00000000-0000-4000-8000-000000000000";
const LONG_CHUNK = 1000;

export function createScriptedResponder(): Responder {
  return {
    mode: "scripted",
    handleTurn,
    chatClosed: () => {
      // Scripted mode keeps no per-chat state.
    },
  };
}

async function handleTurn(ctx: TurnContext): Promise<void> {
  const { text, attachments } = ctx.message;
  const directive = parseDirective(text);
  switch (directive.kind) {
    case "echo": {
      const deltas = ["echo: ", text, ...attachments.map((a) => `\n${attachmentLine(a)}`)];
      for (const delta of deltas) if (delta !== "") ctx.send({ type: "text", delta });
      const reply = deltas.join("");
      ctx.end({ input_tokens: text.length, output_tokens: reply.length });
      return;
    }
    case "slow":
    case "chunks":
      for (let i = 1; i <= directive.count; i++) {
        if (ctx.signal.aborted) return;
        ctx.send({ type: "text", delta: `chunk ${i} ` });
        if (directive.kind === "slow" && i < directive.count) await sleep(directive.delayMs, ctx.signal);
      }
      ctx.end();
      return;
    case "file":
      ctx.send({ type: "file", path: directive.path, ...(directive.caption !== undefined && { caption: directive.caption }) });
      ctx.send({ type: "text", delta: `sent ${directive.path}` });
      ctx.end();
      return;
    case "error":
      ctx.fail("scripted_error", "scripted failure", false);
      return;
    case "tool":
      ctx.send({ type: "tool_call", call_id: "call-1", name: "search", args: { query: directive.query } });
      ctx.send({ type: "tool_result", call_id: "call-1", ok: true, summary: "3 results" });
      ctx.send({ type: "text", delta: "tool done" });
      ctx.end();
      return;
    case "tools":
      for (let i = 1; i <= directive.count; i++) {
        const { name, ok, summary } = toolOutcome(i);
        ctx.send({ type: "tool_call", call_id: `call-${i}`, name, args: { step: i } });
        ctx.send({ type: "tool_result", call_id: `call-${i}`, ok, summary });
      }
      ctx.send({ type: "text", delta: "tools done" });
      ctx.end();
      return;
    case "prose":
      for (const [i, piece] of PROSE_PIECES.entries()) {
        if (ctx.signal.aborted) return;
        if (i > 0) await sleep(directive.delayMs, ctx.signal);
        ctx.send({ type: "text", delta: piece });
      }
      ctx.end();
      return;
    case "slowtool": {
      // A tool that takes a while and says so (which also keeps the turn's idle timer quiet).
      ctx.send({ type: "tool_call", call_id: "call-1", name: "search", args: { query: DEFAULT_TOOL_QUERY } });
      const steps = Math.ceil(directive.holdMs / SLOWTOOL_STEP_MS);
      for (let i = 1; i <= steps; i++) {
        await sleep(Math.min(SLOWTOOL_STEP_MS, directive.holdMs - (i - 1) * SLOWTOOL_STEP_MS), ctx.signal);
        if (ctx.signal.aborted) return;
        if (i < steps) ctx.send({ type: "progress", text: `searching ${i}/${steps - 1}` });
      }
      ctx.send({ type: "tool_result", call_id: "call-1", ok: true, summary: "3 results" });
      ctx.send({ type: "text", delta: "tool done" });
      ctx.end();
      return;
    }
    case "progress":
      for (let i = 1; i <= 3; i++) ctx.send({ type: "progress", text: `step ${i}/3` });
      ctx.send({ type: "text", delta: "progress done" });
      ctx.end();
      return;
    case "table":
      ctx.send({ type: "block", block: { ...TABLE_SAMPLE, headers: [...TABLE_SAMPLE.headers], rows: TABLE_SAMPLE.rows.map((r) => [...r]) } });
      ctx.end();
      return;
    case "code":
      ctx.send({ type: "block", block: { ...CODE_SAMPLE } });
      ctx.end();
      return;
    case "notify":
      ctx.send({ type: "text", delta: "will notify" });
      ctx.end();
      ctx.notifyLater(directive.delayMs, directive.text);
      return;
    case "confirm": {
      const approved = await ctx.confirm(directive.prompt);
      ctx.send({ type: "text", delta: approved ? "approved" : "refused" });
      ctx.end();
      return;
    }
    case "hang":
      await aborted(ctx.signal); // silent until cancelled; the session then ends the turn
      return;
    case "die":
      ctx.send({ type: "text", delta: "dying" });
      ctx.terminateSocket();
      return;
    case "markdown": {
      const cut = MARKDOWN_SAMPLE.indexOf("- item one");
      ctx.send({ type: "text", delta: MARKDOWN_SAMPLE.slice(0, cut) });
      ctx.send({ type: "text", delta: MARKDOWN_SAMPLE.slice(cut) });
      ctx.end();
      return;
    }
    case "long": {
      const full = longText(directive.length);
      for (let at = 0; at < full.length; at += LONG_CHUNK) {
        ctx.send({ type: "text", delta: full.slice(at, at + LONG_CHUNK) });
      }
      ctx.end();
      return;
    }
    case "bad":
      sendBad(ctx, directive.bad);
      return;
    case "flood": {
      ctx.ignoreCancel();
      const unit = LONG_UNIT.repeat(Math.ceil(directive.chunk / LONG_UNIT.length)).slice(0, directive.chunk);
      for (let at = 0; at < directive.length && ctx.open(); at += directive.chunk) {
        const left = directive.length - at;
        ctx.send({ type: "text", delta: left >= unit.length ? unit : unit.slice(0, left) });
        await ctx.drained();
      }
      ctx.end();
      return;
    }
    case "stubborn":
      ctx.ignoreCancel();
      for (let i = 1; i <= directive.count && ctx.open(); i++) {
        ctx.send({ type: "text", delta: `chunk ${i} ` });
        await sleep(directive.delayMs);
      }
      ctx.end();
      return;
    case "files":
      ctx.ignoreCancel();
      for (let i = 0; i < directive.count; i++) ctx.send({ type: "file", path: directive.path });
      ctx.send({ type: "text", delta: `sent ${directive.count} files` });
      ctx.end();
      return;
    case "confirms": {
      const id = ctx.message.request_id;
      for (let i = 1; i <= directive.count; i++) {
        ctx.sendRaw(JSON.stringify({ type: "confirm", request_id: id, confirm_id: `many-${i}`, prompt: `Question ${i}?` }));
      }
      await aborted(ctx.signal); // until cancelled
      return;
    }
  }
}

/** Sends one deliberately broken frame, then finishes the turn properly where the kind allows. */
function sendBad(ctx: TurnContext, kind: BadKind): void {
  const id = ctx.message.request_id;
  const raw = (frame: object): void => ctx.sendRaw(JSON.stringify(frame));
  const done = `bad ${kind} sent`;
  switch (kind) {
    case "json":
      ctx.sendRaw('{"type":"text","request_id":');
      break;
    case "type":
      raw({ type: "mystery", request_id: id });
      break;
    case "fields":
      raw({ type: "text", request_id: id, delta: 42 });
      break;
    case "unknown-request":
      raw({ type: "text", request_id: GHOST_REQUEST_ID, delta: "ghost" });
      raw({ type: "end", request_id: GHOST_REQUEST_ID });
      break;
    case "huge":
      raw({ type: "text", request_id: id, delta: LONG_UNIT.repeat(Math.ceil(MAX_FRAME_BYTES / LONG_UNIT.length) + 1) });
      break;
    case "double-end":
    case "after-end":
      ctx.send({ type: "text", delta: done });
      ctx.end();
      if (kind === "double-end") raw({ type: "end", request_id: id });
      else {
        raw({ type: "text", request_id: id, delta: "ghost after end" });
        raw({ type: "error", request_id: id, code: "late", message: "error after end", retryable: false });
      }
      return;
  }
  ctx.send({ type: "text", delta: done });
  ctx.end();
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

const aborted = (signal: AbortSignal): Promise<void> =>
  signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
