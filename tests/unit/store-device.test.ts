/** The device a data directory's crypto store names is offered to a password login only for the same bot account. */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { storeDeviceId } from "../../src/matrix/crypto-store.js";

function dataDir(saved: Record<string, unknown> | null): string {
  const dir = mkdtempSync(path.join(tmpdir(), "surfaces-store-device-"));
  if (saved) {
    mkdirSync(path.join(dir, "crypto"));
    writeFileSync(path.join(dir, "crypto", "store-prefix"), JSON.stringify(saved));
  }
  return dir;
}

describe("storeDeviceId", () => {
  it("names the store's device for its own account, and for files written before the account was kept", () => {
    expect(storeDeviceId(dataDir({ prefix: "p", device_id: "DEV", user_id: "@bot:hs" }), "@bot:hs")).toBe("DEV");
    expect(storeDeviceId(dataDir({ prefix: "p", device_id: "DEV" }), "@bot:hs")).toBe("DEV");
  });

  it("names nothing for another account's store, an empty id or no store", () => {
    expect(storeDeviceId(dataDir({ prefix: "p", device_id: "DEV", user_id: "@other:hs" }), "@bot:hs")).toBeUndefined();
    expect(storeDeviceId(dataDir({ prefix: "p", device_id: "" }), "@bot:hs")).toBeUndefined();
    expect(storeDeviceId(dataDir(null), "@bot:hs")).toBeUndefined();
  });
});
