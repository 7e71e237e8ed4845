import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AGENT_FRAME_TYPES, MAX_FRAME_BYTES, SURFACE_FRAME_TYPES } from "../../src/agents/protocol.js";
import { PROTOCOL_SCHEMA_PATH, protocolJsonSchema, protocolJsonSchemaText } from "../../src/agents/protocol-schema.js";
import { runProtocolSchema } from "../../src/cli/protocol-schema.js";

type Def = { required?: string[]; properties: Record<string, Record<string, unknown>>; additionalProperties?: unknown };

describe("protocol JSON Schema", () => {
  it("the published file is exactly what the zod schemas generate (npm run protocol-schema)", () => {
    expect(readFileSync(PROTOCOL_SCHEMA_PATH, "utf8")).toBe(protocolJsonSchemaText());
  });

  it("has one definition per frame type in each direction, referenced from its direction", () => {
    const doc = protocolJsonSchema() as { $defs: Record<string, { oneOf?: Array<{ $ref: string }> }> };
    const names = (prefix: string, types: ReadonlySet<string>) => [...types].map((t) => `${prefix}.${t}`).sort();
    expect(doc.$defs.SurfaceToAgent?.oneOf?.map((r) => r.$ref.replace("#/$defs/", "")).sort()).toEqual(names("surface", SURFACE_FRAME_TYPES));
    expect(doc.$defs.AgentToSurface?.oneOf?.map((r) => r.$ref.replace("#/$defs/", "")).sort()).toEqual(names("agent", AGENT_FRAME_TYPES));
    expect((doc as Record<string, unknown>)["x-max-frame-bytes"]).toBe(MAX_FRAME_BYTES);
  });

  it("describes what a receiver accepts: defaults optional, extra fields allowed, ids bounded", () => {
    const defs = protocolJsonSchema().$defs as Record<string, Def>;
    expect(defs["agent.hello"]?.required).toEqual(["type", "protocol", "agent"]);
    expect(defs["agent.error"]?.required).not.toContain("request_id");
    expect(defs["surface.message"]?.properties["request_id"]).toMatchObject({ type: "string", minLength: 1, maxLength: 256 });
    for (const def of Object.values(defs)) expect(def.additionalProperties).toBeUndefined();
  });

  it("--check reports a stale file and exits 1", () => {
    const chunks: string[] = [];
    const out = { write: (s: string) => chunks.push(s) } as unknown as NodeJS.WritableStream;
    expect(runProtocolSchema(["--check"], out)).toBe(0);
    expect(runProtocolSchema(["--check", "--out", "package.json"], out)).toBe(1);
    expect(chunks.join("")).toContain("stale");
  });
});
