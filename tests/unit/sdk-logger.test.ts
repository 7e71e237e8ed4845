/** matrix-js-sdk's log calls land in pino at the mapped level, and cost nothing when that level is off. */
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { sdkLogger } from "../../src/matrix/sdk-logger.js";

function capture(level: string): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: createLogger(level, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) }), lines };
}

/** An argument that counts how often it is turned into text. */
function counted(): { value: object; calls: () => number } {
  let n = 0;
  return { value: { toJSON: () => (n++, { big: "object" }) }, calls: () => n };
}

describe("sdkLogger", () => {
  it("writes SDK lines as one message, with the SDK's errors as warnings", () => {
    const { logger, lines } = capture("debug");
    const sdk = sdkLogger(logger).getChild("sync");
    sdk.info("got", { next_batch: "s1" });
    sdk.error("failed", new Error("boom"));
    expect(lines.map((l) => [l["level"], l["component"], l["msg"]])).toEqual([
      [20, "matrix-js-sdk:sync", 'got {"next_batch":"s1"}'],
      [40, "matrix-js-sdk:sync", "failed Error: boom"],
    ]);
  });

  it("does not stringify the arguments of a level that is off", () => {
    const { logger, lines } = capture("info");
    const sdk = sdkLogger(logger);
    const arg = counted();
    sdk.debug("request", arg.value);
    sdk.info("sync", arg.value);
    sdk.warn("odd", arg.value);
    expect(lines).toHaveLength(0);
    expect(arg.calls()).toBe(0);
    sdk.error("failed", arg.value);
    expect(lines).toHaveLength(1);
    expect(arg.calls()).toBe(1);
  });
});
