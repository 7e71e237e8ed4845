/** `npm run stack` logs: readable lines for a person at a terminal, JSON otherwise. */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, readableDestination, wantsReadableLogs } from "../../src/logger.js";

describe("log format", () => {
  it.each<[string, boolean | undefined, string | undefined, boolean]>([
    ["a terminal", true, undefined, true],
    ["a terminal in development", true, "development", true],
    ["a terminal in production", true, "production", false],
    ["a pipe", false, undefined, false],
    ["a stream that says nothing", undefined, undefined, false],
  ])("%s → readable: %s", (_case, isTTY, nodeEnv, readable) => {
    expect(wantsReadableLogs(isTTY === undefined ? {} : { isTTY }, { NODE_ENV: nodeEnv })).toBe(readable);
  });

  it("readable lines carry time, level, message and fields — and still no secrets", async () => {
    let out = "";
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString("utf8");
        done();
      },
    });
    const logger = createLogger("info", await readableDestination({ destination, colorize: false }));
    logger.info({ room_id: "!r:hs", accessToken: "syt_secret" }, "room recovered");
    expect(out).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: room recovered /u);
    expect(out).toContain('{"room_id":"!r:hs","accessToken":"[redacted]"}');
    expect(out).not.toContain("syt_secret");
    expect(out).not.toContain('"level"');
  });
});
