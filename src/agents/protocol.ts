/**
 * Agent protocol v1: the zod schemas for every frame in both directions.
 * The surface's client and the reference agent both validate with these, so
 * the two ends cannot drift. See docs/agent-protocol.md.
 *
 * Unknown extra fields are accepted and stripped (forward compatibility);
 * unknown frame types, missing or mistyped fields are rejected.
 */
import { z } from "zod";

export const PROTOCOL_VERSION = 1;
/** Largest text frame either end accepts, measured in UTF-8 bytes. */
export const MAX_FRAME_BYTES = 1024 * 1024;

const id = z.string().min(1).max(256);

// ---- surface → agent -------------------------------------------------------

export const surfaceHelloSchema = z.object({
  type: z.literal("hello"),
  protocol: z.number().int().positive(),
  surface: z.string().min(1),
  version: z.string(),
});

export const attachmentSchema = z.object({
  path: z.string().min(1),
  name: z.string(),
  mime: z.string(),
  size: z.number().int().nonnegative(),
});

export const messageFrameSchema = z.object({
  type: z.literal("message"),
  request_id: id,
  chat_id: id,
  user: z.object({ id: z.string().min(1), display_name: z.string().optional() }),
  text: z.string(),
  attachments: z.array(attachmentSchema),
});

export const cancelFrameSchema = z.object({ type: z.literal("cancel"), request_id: id });

export const chatClosedFrameSchema = z.object({
  type: z.literal("chat_closed"),
  chat_id: id,
  reason: z.enum(["cleared", "archived"]),
});

export const confirmResultFrameSchema = z.object({
  type: z.literal("confirm_result"),
  request_id: id,
  confirm_id: id,
  approved: z.boolean(),
  /**
   * Optional, additive: the owner approved "always in this chat" (♾️ /
   * `!always`). The surface then approves the same prompt in this chat by
   * itself (sent with `always: true` as well) until `!clear`.
   */
  always: z.boolean().optional(),
});

export const surfaceFrameSchema = z.discriminatedUnion("type", [
  surfaceHelloSchema,
  messageFrameSchema,
  cancelFrameSchema,
  chatClosedFrameSchema,
  confirmResultFrameSchema,
]);

// ---- agent → surface -------------------------------------------------------

export const agentHelloSchema = z.object({
  type: z.literal("hello"),
  protocol: z.number().int().positive(),
  agent: z.object({ name: z.string().min(1), version: z.string() }),
  capabilities: z.array(z.string()).default([]),
});

export const textFrameSchema = z.object({ type: z.literal("text"), request_id: id, delta: z.string() });

export const toolCallFrameSchema = z.object({
  type: z.literal("tool_call"),
  request_id: id,
  call_id: id,
  name: z.string().min(1),
  args: z.unknown().optional(),
});

export const toolResultFrameSchema = z.object({
  type: z.literal("tool_result"),
  request_id: id,
  call_id: id,
  ok: z.boolean(),
  summary: z.string().optional(),
});

export const progressFrameSchema = z.object({ type: z.literal("progress"), request_id: id, text: z.string() });

/** Table cells may be scalars; the surface renders them as strings (null → ""). */
const cellSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const tableBlockSchema = z.object({
  kind: z.literal("table"),
  headers: z.array(z.string()),
  rows: z.array(z.array(cellSchema)),
});

export const codeBlockSchema = z.object({
  kind: z.literal("code"),
  language: z.string().optional(),
  code: z.string(),
});

export const blockFrameSchema = z.object({
  type: z.literal("block"),
  request_id: id,
  block: z.discriminatedUnion("kind", [tableBlockSchema, codeBlockSchema]),
});

export const fileFrameSchema = z.object({
  type: z.literal("file"),
  request_id: id,
  path: z.string().min(1),
  name: z.string().optional(),
  mime: z.string().optional(),
  caption: z.string().optional(),
});

export const endFrameSchema = z.object({
  type: z.literal("end"),
  request_id: id,
  usage: z
    .object({ input_tokens: z.number().int().nonnegative(), output_tokens: z.number().int().nonnegative() })
    .optional(),
});

export const errorFrameSchema = z.object({
  type: z.literal("error"),
  request_id: id.optional(),
  code: z.string().min(1),
  message: z.string(),
  retryable: z.boolean(),
});

/** `id` (optional, additive): the same id twice posts once, so an agent may safely resend a notify. */
export const notifyFrameSchema = z.object({ type: z.literal("notify"), chat_id: id, text: z.string().min(1), id: id.optional() });

export const confirmFrameSchema = z.object({
  type: z.literal("confirm"),
  request_id: id,
  confirm_id: id,
  prompt: z.string().min(1),
});

export const agentFrameSchema = z.discriminatedUnion("type", [
  agentHelloSchema,
  textFrameSchema,
  toolCallFrameSchema,
  toolResultFrameSchema,
  progressFrameSchema,
  blockFrameSchema,
  fileFrameSchema,
  endFrameSchema,
  errorFrameSchema,
  notifyFrameSchema,
  confirmFrameSchema,
]);

export type SurfaceFrame = z.infer<typeof surfaceFrameSchema>;
export type SurfaceHello = z.infer<typeof surfaceHelloSchema>;
export type MessageFrame = z.infer<typeof messageFrameSchema>;
export type AgentFrame = z.infer<typeof agentFrameSchema>;
export type AgentHello = z.infer<typeof agentHelloSchema>;
/** Agent frames that belong to one turn (everything but hello, notify and a turn-less error). */
export type AgentTurnFrame = Exclude<AgentFrame, { type: "hello" } | { type: "notify" }>;

export const SURFACE_FRAME_TYPES: ReadonlySet<string> = new Set(surfaceFrameSchema.options.map((o) => o.shape.type.value));
export const AGENT_FRAME_TYPES: ReadonlySet<string> = new Set(agentFrameSchema.options.map((o) => o.shape.type.value));

export type ParseResult<F> =
  | { ok: true; frame: F }
  /** `type`/`requestId` are filled when the raw frame had them, for logging. */
  | { ok: false; reason: string; type?: string; requestId?: string };

export const parseAgentFrame = (raw: string): ParseResult<AgentFrame> => parseFrame(raw, agentFrameSchema, AGENT_FRAME_TYPES);

export const parseSurfaceFrame = (raw: string): ParseResult<SurfaceFrame> =>
  parseFrame(raw, surfaceFrameSchema, SURFACE_FRAME_TYPES);

/** Serialises a frame for the wire. */
export const encodeFrame = (frame: AgentFrame | SurfaceFrame): string => JSON.stringify(frame);

function parseFrame<F>(raw: string, schema: z.ZodType<F>, known: ReadonlySet<string>): ParseResult<F> {
  if (typeof raw !== "string") return { ok: false, reason: "not a text frame" };
  // A UTF-16 code unit is never less than one UTF-8 byte, so length is a cheap lower bound.
  if (raw.length > MAX_FRAME_BYTES || Buffer.byteLength(raw, "utf8") > MAX_FRAME_BYTES) {
    return { ok: false, reason: `frame larger than ${MAX_FRAME_BYTES} bytes` };
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, reason: "invalid JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, reason: "frame is not a JSON object" };
  }
  const record = value as Record<string, unknown>;
  const type = typeof record.type === "string" ? record.type : undefined;
  const requestId = typeof record.request_id === "string" ? record.request_id : undefined;
  const context = { ...(type !== undefined && { type }), ...(requestId !== undefined && { requestId }) };
  if (type === undefined) return { ok: false, reason: "missing type", ...context };
  if (!known.has(type)) return { ok: false, reason: `unknown type "${type}"`, ...context };
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => `${i.path.join(".") || "(frame)"}: ${i.message}`).join("; ");
    return { ok: false, reason: `invalid ${type} frame: ${details}`, ...context };
  }
  return { ok: true, frame: parsed.data };
}

/** Reads the protocol number from a hello that fails full validation (e.g. a v2 hello of another shape). */
export function peekHelloProtocol(raw: string): number | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== "object" || value === null) return undefined;
    const record = value as Record<string, unknown>;
    return record.type === "hello" && typeof record.protocol === "number" ? record.protocol : undefined;
  } catch {
    return undefined;
  }
}
