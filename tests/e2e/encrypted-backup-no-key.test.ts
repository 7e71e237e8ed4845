/**
 * What the key backup cannot give back without the recovery key: the same
 * lost-crypto-store scenario as encrypted-backup.test.ts, but the bot comes
 * back without SURFACES_RECOVERY_KEY. It is a new device (password) and
 * reads new messages, but the message written while it was down — whose
 * room key is in the backup, sealed — stays unreadable: the owner is told
 * once to send it again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AWAY_TEXT, loseCryptoStore, type LostStore } from "../support/lost-crypto-store.js";
import { useSynapse } from "../support/synapse-env.js";

describe("a lost crypto store without the recovery key", () => {
  const synapse = useSynapse();
  let lost: LostStore;

  beforeAll(async () => {
    lost = await loseCryptoStore(synapse.baseUrl, { SURFACES_RECOVERY_KEY: "", SURFACES_DECRYPT_GRACE_MS: "4000" });
  }, 180_000);
  afterAll(() => lost?.stop());

  it("cannot read the message whose key only the backup holds, tells the owner, and reads the next one", async () => {
    const { chat } = lost;
    const room = chat.rooms.chatRoomId;
    const notice = await chat.client.waitForMessage(room, (e, body) => e.getSender() === chat.fx.bot.userId && (body ?? "").includes("couldn't decrypt"), 60_000);
    expect(notice.getContent()["msgtype"]).toBe("m.notice");
    expect(chat.client.messages(room).some((e) => e.getContent()["body"] === `echo: ${AWAY_TEXT}`)).toBe(false);
    // The new device gets keys for what comes next.
    await chat.client.sendText(room, "after the loss");
    await lost.answered("after the loss", 60_000);
    expect(chat.client.messages(room).some((e) => e.getContent()["body"] === `echo: ${AWAY_TEXT}`)).toBe(false);
  }, 120_000);
});
