import { describe, expect, it } from "vitest";
import { KeyedQueue } from "../../src/core/keyed-queue.js";

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("KeyedQueue", () => {
  it("runs one key's tasks in order and keys independently", async () => {
    const q = new KeyedQueue();
    const log: string[] = [];
    let releaseA!: () => void;
    const blockA = new Promise<void>((r) => (releaseA = r));
    void q.run("a", async () => { await blockA; log.push("a1"); });
    void q.run("a", async () => { log.push("a2"); });
    void q.run("b", async () => { log.push("b1"); });
    await tick();
    expect(log).toEqual(["b1"]); // b is not held up by a
    expect(q.depth("a")).toBe(2);
    releaseA();
    await q.drain();
    expect(log).toEqual(["b1", "a1", "a2"]);
    expect(q.totalDepth()).toBe(0);
  });

  it("keeps going after a task fails", async () => {
    const q = new KeyedQueue();
    const log: string[] = [];
    void q.run("a", async () => { throw new Error("boom"); });
    await q.run("a", async () => { log.push("after"); });
    expect(log).toEqual(["after"]);
  });
});
