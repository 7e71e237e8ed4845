/**
 * Old room keys from the key backup. The bot's data directory keeps
 * `surfaces.db` (login, sync position) but loses its crypto store; the user
 * writes while the bot is down, with the room key the old device had
 * received and backed up. Restarted with the recovery key and its password,
 * the bot logs in as a new device, opens secret storage, fetches that room
 * key from the backup and answers the message. The user's client never
 * sends that key to the new device (it sends nothing after the restart), so
 * the backup is the only place it can come from — without the recovery key
 * (encrypted-backup-no-key.test.ts) the same message stays unreadable.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AWAY_TEXT, loseCryptoStore, type LostStore } from "../support/lost-crypto-store.js";
import { useSynapse } from "../support/synapse-env.js";

describe("room keys from the key backup", () => {
  const synapse = useSynapse();
  let lost: LostStore;

  beforeAll(async () => {
    lost = await loseCryptoStore(synapse.baseUrl, {});
  }, 180_000);
  afterAll(() => lost?.stop());

  it("a bot that lost its crypto store reads, from the key backup, a message encrypted with a key only its old device had", async () => {
    await lost.answered(AWAY_TEXT, 90_000);
    const login = lost.bot.output.find((line) => line.includes('"msg":"logged in with password"'));
    const newDevice = login && (JSON.parse(login) as { device_id?: string }).device_id;
    expect(newDevice).toBeDefined();
    expect(newDevice).not.toBe(lost.oldDevice);
    // The old device, whose keys nobody holds any more, is gone from the account.
    const devices = await lost.botDevices();
    expect(devices).not.toContain(lost.oldDevice);
    expect(devices).toContain(newDevice);
  }, 120_000);
});
