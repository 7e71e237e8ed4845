/**
 * Files both ways, end to end: a real Synapse media repository, the real bot,
 * real reference agents (which echo attachments and obey `/file PATH`), and
 * raw client-server calls playing the user. Bytes are compared by hash.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { crc32, deflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RegisteredUser } from "../../src/dev/synapse.js";
import { attachmentLine } from "../../src/reference-agent/directives.js";
import { botMessages, eventually, onboard, startBot, type BotFixture, type Onboarded } from "../support/bot.js";
import { downloadMedia, mediaUrl, uploadFor } from "../support/attachments.js";
import { sendMessageRaw, sendsEncrypted, type ShownMessage } from "../support/room-messages.js";
import { useSynapse } from "../support/synapse-env.js";
import { startUserClient, type UserClient } from "../support/user-client.js";

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** A real w×h RGB PNG (so Synapse's thumbnailer is happy too). */
function png(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc((w * 3 + 1) * h, 0x7f);
  for (let y = 0; y < h; y++) raw[y * (w * 3 + 1)] = 0;
  return Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

describe("files", () => {
  const synapse = useSynapse();
  let fx: BotFixture;
  let alice: RegisteredUser;
  let aliceClient: UserClient;
  let rooms: Onboarded;
  let workspace: string;

  const shown = (roomId: string, token = alice.accessToken, bot = fx.bot.userId): Promise<ShownMessage[]> =>
    botMessages(synapse.baseUrl, token, roomId, bot);

  /** Uploads and posts a file message as the user (an encrypted attachment in an encrypted room); resolves with its event id. */
  async function sendFile(
    roomId: string,
    bytes: Uint8Array,
    name: string,
    mime: string,
    opts: { msgtype?: string; caption?: string; token?: string; size?: number } = {},
  ): Promise<string> {
    const token = opts.token ?? alice.accessToken;
    const media = await uploadFor(synapse.baseUrl, token, roomId, bytes, name, mime);
    const content = { msgtype: opts.msgtype ?? "m.file", body: opts.caption ?? name, filename: name, ...media, info: { mimetype: mime, size: opts.size ?? bytes.length } };
    const res = await sendMessageRaw(synapse.baseUrl, token, roomId, content);
    expect(res.status).toBe(200);
    return res.json.event_id!;
  }

  /** Runs `action`, then waits for the first new bot message matching. */
  async function after(roomId: string, action: () => Promise<unknown>, match: (m: ShownMessage) => boolean, token?: string, bot?: string): Promise<ShownMessage> {
    const before = (await shown(roomId, token, bot)).length;
    await action();
    return eventually("the bot's answer", async () => (await shown(roomId, token, bot)).slice(before).find(match), 60_000);
  }

  /** Sends a file and checks the agent's echo against the bytes on disk. */
  async function roundTripIn(bytes: Uint8Array, name: string, mime: string, opts: { msgtype?: string; caption?: string } = {}) {
    const echo = await after(rooms.chatRoomId, () => sendFile(rooms.chatRoomId, bytes, name, mime, opts), (m) => m.body?.includes(`attachment: ${name} (`) === true);
    const line = /attachment: .* \(([^,]+), (\d+) bytes\) at (.+)$/mu.exec(echo.body ?? "");
    expect(line).not.toBeNull();
    const [, gotMime, size, rel] = line as unknown as [string, string, string, string];
    expect(echo.body).toContain(attachmentLine({ name, mime, size: bytes.length, path: rel }));
    expect(gotMime).toBe(mime);
    expect(Number(size)).toBe(bytes.length);
    expect(rel).toMatch(new RegExp(`^inbox/${fx.app.store.rooms.get(rooms.chatRoomId as never)?.chatId}/\\d+-`));
    expect(sha(readFileSync(path.join(workspace, rel)))).toBe(sha(bytes));
    return { echo, rel };
  }

  beforeAll(async () => {
    alice = await synapse.newUser("alice");
    fx = await startBot({ agents: [{ id: "alpha" }, { id: "beta" }], users: { [alice.userId]: ["alpha"] } });
    workspace = path.join(fx.dir, "agents", "alpha");
    aliceClient = await startUserClient(synapse.baseUrl, alice);
    rooms = await onboard(aliceClient, alice.accessToken, synapse.baseUrl, fx.bot.userId);
  });
  afterAll(async () => {
    aliceClient?.stop();
    await fx?.stop();
  });

  describe("from the user to the agent", () => {
    it("a 5 MB binary arrives byte for byte, announced as a sent file", async () => {
      const bytes = randomBytes(5 * 1024 * 1024);
      const { echo } = await roundTripIn(bytes, "data.bin", "application/octet-stream");
      expect(echo.body?.startsWith("echo: (sent a file: data.bin)")).toBe(true);
    });

    it("a 1-byte file", async () => {
      await roundTripIn(Buffer.from([0x2a]), "one.txt", "text/plain");
    });

    it("a unicode name stays readable", async () => {
      const { rel } = await roundTripIn(Buffer.from("héllo wörld"), "résumé 日本語 🎉.txt", "text/plain");
      expect(path.basename(rel)).toMatch(/^\d+-résumé 日本語 🎉\.txt$/u);
    });

    it("an image with a caption: the caption is the message text", async () => {
      const { echo } = await roundTripIn(png(4, 3), "photo.png", "image/png", { msgtype: "m.image", caption: "look at this" });
      expect(echo.body?.startsWith("echo: look at this\n")).toBe(true);
    });

    it("two files with the same name never overwrite each other", async () => {
      const a = await roundTripIn(Buffer.from("first"), "same.txt", "text/plain");
      const b = await roundTripIn(Buffer.from("second"), "same.txt", "text/plain");
      expect(a.rel).not.toBe(b.rel);
      expect(readFileSync(path.join(workspace, a.rel), "utf8")).toBe("first");
      expect(readFileSync(path.join(workspace, b.rel), "utf8")).toBe("second");
    });

    it("a file over the limit is refused with the limit named, and nothing is written", async () => {
      const bob = await synapse.newUser("bob");
      const small = await startBot({ agents: [{ id: "gamma" }], users: { [bob.userId]: "gamma" }, env: { SURFACES_MAX_FILE_BYTES: "1000" } });
      const bobClient = await startUserClient(synapse.baseUrl, bob);
      try {
        const bobRooms = await onboard(bobClient, bob.accessToken, synapse.baseUrl, small.bot.userId);
        const notice = await after(
          bobRooms.chatRoomId,
          () => sendFile(bobRooms.chatRoomId, randomBytes(5000), "big.bin", "application/octet-stream", { token: bob.accessToken }),
          () => true,
          bob.accessToken,
          small.bot.userId,
        );
        expect(notice.msgtype).toBe("m.notice");
        expect(notice.body).toContain("big.bin");
        expect(notice.body).toContain("1000 bytes");
        // The advertised size lies (says 10 bytes); the stream limit still holds.
        const liar = await after(
          bobRooms.chatRoomId,
          () => sendFile(bobRooms.chatRoomId, randomBytes(5000), "liar.bin", "application/octet-stream", { token: bob.accessToken, size: 10 }),
          (m) => m.body?.includes("liar.bin") === true,
          bob.accessToken,
          small.bot.userId,
        );
        expect(liar.body).toContain("1000 bytes");
        const inbox = path.join(small.dir, "agents", "gamma", "inbox");
        const left = existsSync(inbox) ? readdirSync(inbox, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()) : [];
        expect(left).toEqual([]);
        // Within the limit still works for this bot.
        const ok = await after(
          bobRooms.chatRoomId,
          () => sendFile(bobRooms.chatRoomId, Buffer.alloc(1000, 1), "fits.bin", "application/octet-stream", { token: bob.accessToken }),
          (m) => m.body?.includes("attachment: fits.bin") === true,
          bob.accessToken,
          small.bot.userId,
        );
        expect(ok.body).toContain("1000 bytes");
      } finally {
        bobClient.stop();
        await small.stop();
      }
    });
  });

  describe("from the agent to the user", () => {
    const fileEvents = async (): Promise<ShownMessage[]> => (await shown(rooms.chatRoomId)).filter((m) => mediaUrl(m.event.content) !== undefined);
    /** The file's bytes as the user downloads them; in an encrypted room the file must be an encrypted attachment. */
    const download = async (content: Record<string, unknown>): Promise<Buffer> => {
      expect(content["url"] === undefined).toBe(await sendsEncrypted(alice.accessToken, rooms.chatRoomId));
      return downloadMedia(synapse.baseUrl, alice.accessToken, content);
    };

    /** `/file PATH`, then the bot's file event or notice about it. */
    const ask = (arg: string, match: (m: ShownMessage) => boolean) => after(rooms.chatRoomId, () => aliceClient.sendText(rooms.chatRoomId, `/file ${arg}`), match);

    beforeAll(() => {
      mkdirSync(path.join(workspace, "out"), { recursive: true });
      writeFileSync(path.join(workspace, "out", "report.csv"), "a,b\n1,2\n");
      writeFileSync(path.join(workspace, "out", "blob.bin"), randomBytes(300_000));
      writeFileSync(path.join(workspace, "out", "chart.png"), png(7, 5));
      writeFileSync(path.join(workspace, "out", "empty.txt"), "");
      writeFileSync(path.join(fx.dir, "agents", "secret.txt"), "outside secret");
      writeFileSync(path.join(fx.dir, "agents", "beta", "secret.txt"), "beta's secret");
      symlinkSync(path.join(fx.dir, "agents", "secret.txt"), path.join(workspace, "out", "link-out"));
    });

    it.each([
      ["relative", "out/report.csv", "report.csv", "text/csv"],
      ["/workspace/…", "/workspace/out/blob.bin", "blob.bin", "application/octet-stream"],
      ["/agents/<id>/…", "/agents/alpha/out/report.csv", "report.csv", "text/csv"],
    ])("a %s path is sent as m.file and downloads to the same bytes", async (_kind, arg, name, mime) => {
      const ev = await ask(arg, (m) => mediaUrl(m.event.content) !== undefined);
      expect(ev.msgtype).toBe("m.file");
      const c = ev.event.content as { body: string; filename: string; info: { mimetype: string; size: number } };
      expect(c.filename).toBe(name);
      expect(c.body).toBe(name);
      expect(c.info.mimetype).toBe(mime);
      const onDisk = readFileSync(path.join(workspace, "out", name));
      expect(c.info.size).toBe(onDisk.length);
      expect(sha(await download(ev.event.content))).toBe(sha(onDisk));
    });

    it("files are counted for operators, both ways, with their bytes", async () => {
      const metric = async (name: string, direction: string) =>
        (await fx.app.metrics.registry.getSingleMetric(name)?.get())?.values.find((v) => v.labels["direction"] === direction)?.value ?? 0;
      expect(await metric("surfaces_files_relayed_total", "inbound")).toBeGreaterThanOrEqual(5);
      expect(await metric("surfaces_file_bytes_total", "inbound")).toBeGreaterThanOrEqual(5 * 1024 * 1024);
      expect(await metric("surfaces_files_relayed_total", "outbound")).toBeGreaterThanOrEqual(1);
    });

    it("an image goes as m.image with width, height and the caption as body", async () => {
      const ev = await ask("out/chart.png the quarterly chart", (m) => mediaUrl(m.event.content) !== undefined);
      expect(ev.msgtype).toBe("m.image");
      const c = ev.event.content as { body: string; filename: string; info: Record<string, unknown> };
      expect(c).toMatchObject({ body: "the quarterly chart", filename: "chart.png", info: { mimetype: "image/png", w: 7, h: 5 } });
      expect(sha(await download(ev.event.content))).toBe(sha(readFileSync(path.join(workspace, "out", "chart.png"))));
    });

    it.each([
      ["../secret.txt", "outside its workspace"],
      ["out/../../secret.txt", "outside its workspace"],
      ["..%2fsecret.txt", "no such file"], // never decoded: a literal name in the workspace
      ["..%2f..%2fsecret.txt", "no such file"],
      ["/etc/passwd", "outside its workspace"],
      ["ABS_SECRET", "outside its workspace"],
      ["/agents/beta/secret.txt", "outside its workspace"],
      ["../beta/secret.txt", "outside its workspace"],
      ["/workspace/../beta/secret.txt", "outside its workspace"],
      ["out/link-out", "outside its workspace"],
      ["LONG", "overlong path"],
      ["out/missing.txt", "no such file"],
      ["out/empty.txt", "it is empty"],
      ["out", "is a directory"],
    ])("%s is refused with a notice (%s) and nothing is sent", async (arg, why) => {
      const raw = arg === "ABS_SECRET" ? path.join(fx.dir, "agents", "secret.txt") : arg === "LONG" ? "a/".repeat(800) : arg;
      const filesBefore = (await fileEvents()).length;
      const notice = await ask(raw, (m) => m.msgtype === "m.notice");
      expect(notice.body).toContain(why);
      await eventually("the turn's text", async () => (await shown(rooms.chatRoomId)).find((m) => m.body === `sent ${raw}`));
      expect((await fileEvents()).length).toBe(filesBefore);
    });
  });
});
