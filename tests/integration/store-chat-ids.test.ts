import { describe, expect, it } from "vitest";
import { chatIdGenerator, newChatId } from "../../src/store/chat-ids.js";

describe("chat ids", () => {
  it("are numeric strings, strictly increasing within a process", () => {
    const ids = Array.from({ length: 5000 }, () => newChatId());
    for (const id of ids) expect(id).toMatch(/^\d+$/);
    for (let i = 1; i < ids.length; i++) expect(BigInt(ids[i]!) > BigInt(ids[i - 1]!)).toBe(true);
  });

  it("a restarted process (new generator) starts past every id the clock had reached", () => {
    let now = 1_700_000_000_000;
    const first = chatIdGenerator(() => now);
    const before = [first(), first(), first()];
    now += 1; // one millisecond later, a fresh process
    const second = chatIdGenerator(() => now);
    const after = second();
    expect(before).toEqual(["1700000000000000", "1700000000000001", "1700000000000002"]);
    expect(after).toBe("1700000000001000");
  });

  it("stays increasing when the clock stands still or steps back", () => {
    let now = 2_000;
    const gen = chatIdGenerator(() => now);
    const a = gen();
    now = 1_000;
    const b = gen();
    expect(Number(b)).toBe(Number(a) + 1);
  });
});
