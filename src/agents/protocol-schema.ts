/**
 * Agent protocol v1 as JSON Schema, generated from the zod schemas in
 * protocol.ts (the one source of truth). `npm run protocol-schema` writes it to
 * schema/agent-protocol-v1.json; a unit test keeps the published file equal to
 * what this returns.
 */
import { z } from "zod";
import { agentFrameSchema, MAX_FRAME_BYTES, PROTOCOL_VERSION, surfaceFrameSchema } from "./protocol.js";

export const PROTOCOL_SCHEMA_PATH = `schema/agent-protocol-v${PROTOCOL_VERSION}.json`;

type JsonSchema = Record<string, unknown>;

/**
 * `io: "input"` describes what the receiving end accepts: optional fields with
 * defaults stay optional, and extra properties are allowed (forward compatibility).
 */
function frameSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: "input", target: "draft-2020-12" }) as JsonSchema;
  return rest;
}

function direction(prefix: "surface" | "agent", union: typeof surfaceFrameSchema | typeof agentFrameSchema, defs: Record<string, JsonSchema>): JsonSchema {
  const refs = union.options.map((option: z.ZodObject) => {
    const type = (option.shape.type as z.ZodLiteral<string>).value;
    const name = `${prefix}.${type}`;
    defs[name] = frameSchema(option);
    return { $ref: `#/$defs/${name}` };
  });
  return { oneOf: refs };
}

/** The whole protocol: every frame in both directions under `$defs`, a frame is one of the two directions. */
export function protocolJsonSchema(): JsonSchema {
  const defs: Record<string, JsonSchema> = {};
  const surfaceToAgent = direction("surface", surfaceFrameSchema, defs);
  const agentToSurface = direction("agent", agentFrameSchema, defs);
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: `urn:surfaces:agent-protocol:${PROTOCOL_VERSION}`,
    title: `Surfaces agent protocol v${PROTOCOL_VERSION}`,
    description:
      "Every WebSocket text frame between the surface and an agent is one JSON object matching one of these schemas " +
      `(at most ${MAX_FRAME_BYTES} bytes of UTF-8). Unknown extra fields are allowed and ignored. ` +
      "Generated from src/agents/protocol.ts by `npm run protocol-schema`; do not edit by hand. See docs/agent-protocol.md.",
    "x-protocol-version": PROTOCOL_VERSION,
    "x-max-frame-bytes": MAX_FRAME_BYTES,
    anyOf: [{ $ref: "#/$defs/SurfaceToAgent" }, { $ref: "#/$defs/AgentToSurface" }],
    $defs: { SurfaceToAgent: surfaceToAgent, AgentToSurface: agentToSurface, ...defs },
  };
}

/** The published file's exact text (stable key order, two-space indent, trailing newline). */
export const protocolJsonSchemaText = (): string => `${JSON.stringify(protocolJsonSchema(), null, 2)}\n`;
