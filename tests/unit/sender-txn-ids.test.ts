/**
 * Transaction ids are derived from idempotency keys; the homeserver drops a
 * repeated PUT with the same id. They must stay the same across versions of
 * the bot, or a send retried over an upgrade would post twice.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { txnIdFor } from "../../src/matrix/sender.js";

describe("transaction ids", () => {
  it("are the first 32 characters of the key's SHA-256 in base64url, as in earlier versions", () => {
    expect(txnIdFor("reply:$abc:0")).toBe("sf1-GTYnoSbGeMrMHl3j8bemkvOhoeUDQZ4-");
    for (const key of ["", "notice:!room:hs:é", "x".repeat(5000)]) {
      expect(txnIdFor(key)).toBe(`sf1-${createHash("sha256").update(key).digest("base64url").slice(0, 32)}`);
    }
  });
});
