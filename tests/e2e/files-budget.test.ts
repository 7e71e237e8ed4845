/**
 * The disk limits on user files as a user meets them, on a real Synapse with
 * the real bot and reference agent (which echoes each attachment's path):
 * the same media posted twice in one chat is one file in the inbox, and a
 * file over the user's quota gets the quota notice and reaches nobody.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatBytes } from "../../src/core/strings.js";
import { botMessages, eventually, startChat, type ChatFixture } from "../support/bot.js";
import { matrixFetch, type ShownMessage } from "../support/room-messages.js";
import { useSynapse } from "../support/synapse-env.js";

const QUOTA = 20_000;

describe("files against the disk limits", () => {
  const synapse = useSynapse();
  let chat: ChatFixture;
  let inboxDir: string;

  const shown = (): Promise<ShownMessage[]> => botMessages(synapse.baseUrl, chat.user.accessToken, chat.rooms.chatRoomId, chat.fx.bot.userId);

  async function upload(bytes: Uint8Array, name: string): Promise<string> {
    const res = await fetch(new URL(`/_matrix/media/v3/upload?filename=${encodeURIComponent(name)}`, synapse.baseUrl), {
      method: "POST",
      headers: { Authorization: `Bearer ${chat.user.accessToken}`, "Content-Type": "application/octet-stream" },
      body: bytes,
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { content_uri: string }).content_uri;
  }

  let txn = 0;
  /** Posts an m.file naming `url` (no new upload) and waits for the bot's first matching message. */
  async function postAndWait(url: string, name: string, size: number, match: (m: ShownMessage) => boolean): Promise<ShownMessage> {
    const before = (await shown()).length;
    const content = { msgtype: "m.file", body: name, filename: name, url, info: { mimetype: "application/octet-stream", size } };
    const p = `/_matrix/client/v3/rooms/${encodeURIComponent(chat.rooms.chatRoomId)}/send/m.room.message/b${Date.now()}-${txn++}`;
    const res = await matrixFetch(synapse.baseUrl, chat.user.accessToken, "PUT", p, content);
    expect(res.status).toBe(200);
    return eventually("the bot's answer", async () => (await shown()).slice(before).find(match), 60_000);
  }
  const echoedPath = (m: ShownMessage): string => /attachment: .* \([^,]+, \d+ bytes\) at (.+)$/mu.exec(m.body ?? "")?.[1] ?? "";

  beforeAll(async () => {
    chat = await startChat({ agents: [{ id: "alpha" }], env: { SURFACES_USER_QUOTA_BYTES: String(QUOTA) } });
    const chatId = chat.fx.app.store.rooms.get(chat.rooms.chatRoomId as never)?.chatId ?? "";
    inboxDir = path.join(chat.fx.dir, "agents", "alpha", "inbox", chatId);
  });
  afterAll(async () => {
    await chat?.stop();
  });

  it("the same mxc:// posted twice in one chat is written once, and the agent is told that path both times", async () => {
    const url = await upload(Buffer.alloc(3000, 1), "twice.bin");
    const first = await postAndWait(url, "twice.bin", 3000, (m) => m.body?.includes("attachment: twice.bin (") === true);
    const again = await postAndWait(url, "twice.bin", 3000, (m) => m.body?.includes("attachment: twice.bin (") === true);
    expect(echoedPath(first)).toMatch(/^inbox\/.+\/\d+-twice\.bin$/);
    expect(echoedPath(again)).toBe(echoedPath(first));
    expect(readdirSync(inboxDir)).toEqual([path.basename(echoedPath(first))]);
  });

  it("a file over the user's quota gets the quota notice and nothing is delivered", async () => {
    const fits = await upload(Buffer.alloc(15_000, 2), "fits.bin"); // 3000 + 15000 ≤ 20000
    await postAndWait(fits, "fits.bin", 15_000, (m) => m.body?.includes("attachment: fits.bin (") === true);
    const before = readdirSync(inboxDir).sort();
    const over = await upload(Buffer.alloc(5000, 3), "over.bin");
    const notice = await postAndWait(over, "over.bin", 5000, (m) => m.body?.includes("over.bin") === true);
    expect(notice.msgtype).toBe("m.notice");
    expect(notice.body).toContain("over.bin");
    expect(notice.body).toContain(`your ${formatBytes(QUOTA)} quota`);
    expect(readdirSync(inboxDir).sort()).toEqual(before);
  });
});
