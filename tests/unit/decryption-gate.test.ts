/**
 * The decryption gate against fake events: a room's order is kept while
 * events decrypt, an event without its key does not hold up the room, the
 * owner is told once after the grace period, and a late key still delivers
 * the message once.
 */
import { EventEmitter } from "node:events";
import { MatrixEventEvent, type MatrixClient, type MatrixEvent } from "matrix-js-sdk";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DecryptionGate } from "../../src/matrix/decryption.js";

/** Just what the gate reads of a MatrixEvent. */
class FakeEvent extends EventEmitter {
  failed = false;
  decryptionFailureReason: string | null = null;
  constructor(
    readonly id: string,
    readonly encrypted: boolean,
    /** Resolves the fake decryption; false = the key is missing. */
    readonly decrypt: () => Promise<boolean> = async () => true,
  ) {
    super();
  }
  getId = (): string => this.id;
  getRoomId = (): string => "!room:x";
  isEncrypted = (): boolean => this.encrypted;
  isDecryptionFailure = (): boolean => this.failed;
  /** The crypto retried with a key that arrived late. */
  keyArrives(): void {
    this.failed = false;
    this.emit(MatrixEventEvent.Decrypted, this);
  }
}

function setup(graceMs = 1000) {
  const ready: string[] = [];
  const undecryptable: string[] = [];
  const client = {
    decryptEventIfNeeded: async (ev: FakeEvent) => {
      ev.failed = !(await ev.decrypt());
    },
  } as unknown as MatrixClient;
  const gate = new DecryptionGate(client, pino({ level: "silent" }), { graceMs }, {
    ready: (ev) => ready.push(ev.getId()!),
    undecryptable: (ev) => undecryptable.push(ev.getId()!),
  });
  const submit = (ev: FakeEvent): void => gate.submit(ev as unknown as MatrixEvent);
  return { gate, ready, undecryptable, submit };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe("decryption gate", () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it("hands a clear event on at once", () => {
    const { ready, submit } = setup();
    submit(new FakeEvent("$a", false));
    expect(ready).toEqual(["$a"]);
  });

  it("keeps a room's order while an earlier event is still decrypting", async () => {
    const { ready, submit } = setup();
    let release!: (ok: boolean) => void;
    submit(new FakeEvent("$slow", true, () => new Promise<boolean>((r) => (release = r))));
    submit(new FakeEvent("$fast", true));
    submit(new FakeEvent("$clear", false));
    await settle();
    expect(ready).toEqual([]);
    release(true);
    await settle();
    expect(ready).toEqual(["$slow", "$fast", "$clear"]);
  });

  it("lets the room go on past an event without its key, tells the owner once after the grace, delivers it once when the key comes", async () => {
    const { gate, ready, undecryptable, submit } = setup(1000);
    const lost = new FakeEvent("$lost", true, async () => false);
    submit(lost);
    submit(new FakeEvent("$next", true));
    await settle();
    expect(ready).toEqual(["$next"]);
    expect(gate.waitingCount()).toBe(1);
    vi.advanceTimersByTime(999);
    expect(undecryptable).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(undecryptable).toEqual(["$lost"]);
    vi.advanceTimersByTime(60_000);
    expect(undecryptable).toEqual(["$lost"]);
    lost.keyArrives();
    lost.keyArrives();
    expect(ready).toEqual(["$next", "$lost"]);
    expect(gate.waitingCount()).toBe(0);
  });

  it("says nothing when the key arrives within the grace period", async () => {
    const { ready, undecryptable, submit } = setup(1000);
    const late = new FakeEvent("$late", true, async () => false);
    submit(late);
    await settle();
    vi.advanceTimersByTime(500);
    late.keyArrives();
    vi.advanceTimersByTime(5000);
    expect(ready).toEqual(["$late"]);
    expect(undecryptable).toEqual([]);
  });

  it("stops waiting once the late-key window is over, and on stop()", async () => {
    const { gate, ready, submit } = setup(1000);
    const a = new FakeEvent("$a", true, async () => false);
    const b = new FakeEvent("$b", true, async () => false);
    submit(a);
    submit(b);
    await settle();
    expect(gate.waitingCount()).toBe(2);
    vi.advanceTimersByTime(1000 + 24 * 60 * 60_000);
    expect(gate.waitingCount()).toBe(0);
    a.keyArrives();
    expect(ready).toEqual([]);
    const c = new FakeEvent("$c", true, async () => false);
    submit(c);
    await settle();
    await gate.stop();
    expect(gate.waitingCount()).toBe(0);
    expect(c.listenerCount(MatrixEventEvent.Decrypted)).toBe(0);
  });
});
