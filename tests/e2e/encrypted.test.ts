/**
 * End-to-end encrypted rooms against the real Synapse, with a user whose
 * client runs the Rust crypto (as Element does): the bot reads what the user
 * writes, and everything it sends (answers, streamed edits, notices, files)
 * is ciphertext on the server that the user's client decrypts. A restart
 * keeps the bot's device and its keys.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { MatrixEvent } from "matrix-js-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chunkText } from "../../src/reference-agent/directives.js";
import { eventually, roomState, startChat, type ChatFixture } from "../support/bot.js";
import { fetchWireMessages } from "../support/room-messages.js";
import { useSynapse } from "../support/synapse-env.js";

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const b64 = (b: Buffer): string => b.toString("base64").replace(/=+$/, "");

describe("encrypted rooms", () => {
  const synapse = useSynapse();
  let chat: ChatFixture;
  let workspace: string;

  /** Sends `text` (encrypted by the user's client) and waits for the bot's newest message whose decrypted text matches. */
  const ask = async (roomId: string, text: string, match: (body: string) => boolean, timeoutMs = 60_000): Promise<MatrixEvent> => {
    const before = new Set(chat.client.messages(roomId).map((e) => e.getId()));
    await chat.client.sendText(roomId, text);
    return chat.client.waitForMessage(
      roomId,
      (ev, body) => ev.getSender() === chat.fx.bot.userId && !before.has(ev.getId()) && body !== undefined && match(body),
      timeoutMs,
    );
  };

  /** The server's copy of the bot's events in the room: what the homeserver can read. */
  const botWireTypes = async (roomId: string): Promise<string[]> =>
    (await fetchWireMessages(synapse.baseUrl, chat.user.accessToken, roomId))
      .filter((e) => e.sender === chat.fx.bot.userId && !("state_key" in e))
      .map((e) => e.type);

  beforeAll(async () => {
    chat = await startChat({ agents: [{ id: "alpha" }], encrypted: true, env: { SURFACES_DECRYPT_GRACE_MS: "1500" } });
    workspace = path.join(chat.fx.dir, "agents", "alpha");
  });
  afterAll(() => chat?.stop());

  it("creates the chat room encrypted (the Space, which holds no messages, is not)", async () => {
    const { chatRoomId, spaceId } = chat.rooms;
    expect(await roomState(synapse.baseUrl, chat.user.accessToken, chatRoomId, "m.room.encryption")).toEqual({ algorithm: "m.megolm.v1.aes-sha2" });
    expect(await roomState(synapse.baseUrl, chat.user.accessToken, spaceId, "m.room.encryption")).toBeUndefined();
  });

  it("cross-signs its own device, so clients see it signed by its owner", async () => {
    const botId = chat.fx.bot.userId;
    const deviceId = chat.fx.app.client.getDeviceId()!;
    const crypto = chat.client.client.getCrypto()!;
    await eventually("the bot's device signed by its owner", async () => {
      await crypto.getUserDeviceInfo([botId], true);
      return (await crypto.getDeviceVerificationStatus(botId, deviceId))?.signedByOwner ? true : undefined;
    });
    expect((await crypto.getUserVerificationStatus(botId)).isCrossSigningVerified()).toBe(false); // the user has not verified the bot
  });

  it("answers an encrypted message; the answer is ciphertext on the server and plain to the user", async () => {
    const answer = await ask(chat.rooms.chatRoomId, "hello in secret", (b) => b === "echo: hello in secret");
    expect(answer.isEncrypted()).toBe(true);
    expect(answer.isDecryptionFailure()).toBe(false);
    const types = await botWireTypes(chat.rooms.chatRoomId);
    expect(types).toContain("m.room.encrypted");
    expect(types).not.toContain("m.room.message");
  });

  it("streams an answer as encrypted edits that end exact", async () => {
    const expected = chunkText(30);
    const answer = await ask(chat.rooms.chatRoomId, "/slow 30 40", (b) => b === expected);
    const edits = chat.client.client
      .getRoom(chat.rooms.chatRoomId)!
      .getLiveTimeline()
      .getEvents()
      .filter((e) => e.getWireContent()["m.relates_to"]?.event_id === answer.getId());
    expect(edits.length).toBeGreaterThan(0);
    for (const e of edits) expect(e.getWireType()).toBe("m.room.encrypted");
    expect(await botWireTypes(chat.rooms.chatRoomId)).not.toContain("m.room.message");
  });

  it("answers a !command in the encrypted lobby (Element's encrypted DM)", async () => {
    const help = await ask(chat.rooms.lobbyId, "!help", (b) => b.includes("!new"));
    expect(help.getContent()["msgtype"]).toBe("m.notice");
    expect(help.isEncrypted()).toBe(true);
  });

  it("decrypts and hash-checks a user's encrypted file before it reaches the inbox", async () => {
    const bytes = randomBytes(200_000);
    const ev = await sendEncryptedFile(bytes, "secret.bin");
    const echo = await chat.client.waitForMessage(
      chat.rooms.chatRoomId,
      (e, body) => e.getSender() === chat.fx.bot.userId && (body ?? "").includes("attachment: secret.bin ("),
      60_000,
    );
    const rel = /at (inbox\/\S+)$/mu.exec(chat.client.latestText(chat.rooms.chatRoomId, echo.getId()!) ?? "")?.[1];
    expect(rel).toBeDefined();
    expect(sha(readFileSync(path.join(workspace, rel!)))).toBe(sha(bytes));
    expect(ev).toBeTruthy();
  });

  it("refuses an encrypted file whose ciphertext does not match its hash, leaving nothing in the inbox", async () => {
    const inbox = path.join(workspace, "inbox");
    const before = listFiles(inbox);
    await sendEncryptedFile(randomBytes(10_000), "tampered.bin", { badHash: true });
    const notice = await chat.client.waitForMessage(
      chat.rooms.chatRoomId,
      (e, body) => e.getSender() === chat.fx.bot.userId && (body ?? "").includes("tampered.bin"),
      60_000,
    );
    expect(notice.getContent()["msgtype"]).toBe("m.notice");
    expect(listFiles(inbox).filter((f) => f.includes("tampered"))).toEqual([]);
    expect(listFiles(inbox).length).toBe(before.length);
  });

  it("sends an agent's file encrypted: only ciphertext on the server, the user decrypts the same bytes", async () => {
    mkdirSync(path.join(workspace, "out"), { recursive: true });
    const bytes = randomBytes(120_000);
    writeFileSync(path.join(workspace, "out", "result.bin"), bytes);
    await chat.client.sendText(chat.rooms.chatRoomId, "/file out/result.bin");
    const ev = await chat.client.waitForMessage(chat.rooms.chatRoomId, (e) => e.getSender() === chat.fx.bot.userId && e.getContent()["filename"] === "result.bin", 60_000);
    const content = ev.getContent<{ url?: string; file?: { url: string; key: { k: string }; iv: string; hashes: { sha256: string } }; filename: string }>();
    expect(content.url).toBeUndefined();
    expect(content.filename).toBe("result.bin");
    const file = content.file!;
    const cipher = await download(file.url);
    expect(cipher.equals(bytes)).toBe(false);
    expect(b64(createHash("sha256").update(cipher).digest())).toBe(file.hashes.sha256);
    const key = Buffer.from(file.key.k, "base64url");
    const decipher = createDecipheriv("aes-256-ctr", key, Buffer.from(file.iv, "base64"));
    expect(sha(Buffer.concat([decipher.update(cipher), decipher.final()]))).toBe(sha(bytes));
  });

  it("tells the owner once when a message stays undecryptable past the grace period", async () => {
    // Ciphertext from a Megolm session the bot never got a key for.
    const path_ = `/_matrix/client/v3/rooms/${encodeURIComponent(chat.rooms.chatRoomId)}/send/m.room.encrypted/undecryptable-${Date.now()}`;
    const res = await fetch(new URL(path_, synapse.baseUrl), {
      method: "PUT",
      headers: { Authorization: `Bearer ${chat.user.accessToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        algorithm: "m.megolm.v1.aes-sha2",
        sender_key: b64(randomBytes(32)),
        session_id: b64(randomBytes(32)),
        device_id: chat.user.deviceId,
        ciphertext: b64(randomBytes(120)),
      }),
    });
    expect(res.status).toBe(200);
    const notice = await chat.client.waitForMessage(
      chat.rooms.chatRoomId,
      (e, body) => e.getSender() === chat.fx.bot.userId && (body ?? "").includes("couldn't decrypt"),
      30_000,
    );
    expect(notice.getContent()["msgtype"]).toBe("m.notice");
    await new Promise((r) => setTimeout(r, 2000));
    const notices = chat.client.messages(chat.rooms.chatRoomId).filter((e) => e.getSender() === chat.fx.bot.userId && String(e.getContent()["body"]).includes("couldn't decrypt"));
    expect(notices).toHaveLength(1);
  });

  it("delivers a message once when its room key arrives after the grace period (one notice before)", async () => {
    const roomId = chat.rooms.chatRoomId;
    const undecryptableNotices = (): number =>
      chat.client.messages(roomId).filter((e) => e.getSender() === chat.fx.bot.userId && String(e.getContent()["body"]).includes("couldn't decrypt")).length;
    const noticesBefore = undecryptableNotices();
    // Hold back the user's room-key to-device messages: the message goes out, its key does not.
    const held: Array<{ path: string; body: string }> = [];
    const http = chat.client.client.http;
    const original = http.authedRequest.bind(http);
    http.authedRequest = (async (method: never, path: string, query: never, body: never, opts: never) => {
      if (path.startsWith("/_matrix/client/v3/sendToDevice/m.room.encrypted/")) {
        held.push({ path, body });
        return "{}";
      }
      return original(method, path, query, body, opts);
    }) as typeof http.authedRequest;
    try {
      await chat.client.client.getCrypto()!.forceDiscardSession(roomId);
      await chat.client.sendText(roomId, "sent before its key");
    } finally {
      http.authedRequest = original;
    }
    expect(held.length).toBeGreaterThan(0);
    await chat.client.waitForMessage(roomId, () => undecryptableNotices() === noticesBefore + 1, 30_000);
    for (const h of held) {
      const res = await fetch(new URL(h.path, synapse.baseUrl), {
        method: "PUT",
        headers: { Authorization: `Bearer ${chat.user.accessToken}`, "Content-Type": "application/json" },
        body: h.body,
      });
      expect(res.status).toBe(200);
    }
    const echo = (): MatrixEvent[] => chat.client.messages(roomId).filter((e) => e.getSender() === chat.fx.bot.userId && chat.client.latestText(roomId, e.getId()!) === "echo: sent before its key");
    await chat.client.waitForMessage(roomId, () => echo().length > 0, 30_000);
    // Once: a second answer would have had time to come by now.
    await ask(roomId, "and one more", (b) => b === "echo: and one more");
    expect(echo()).toHaveLength(1);
    expect(undecryptableNotices()).toBe(noticesBefore + 1);
  });

  it("keeps its device and its keys across a restart and still reads the room", async () => {
    const deviceBefore = chat.fx.app.client.getDeviceId();
    const keysBefore = await chat.fx.app.client.getCrypto()!.getOwnDeviceKeys();
    await chat.fx.restart();
    expect(chat.fx.app.client.getDeviceId()).toBe(deviceBefore);
    expect(await chat.fx.app.client.getCrypto()!.getOwnDeviceKeys()).toEqual(keysBefore);
    // The user's client keeps its Megolm session: the bot needs the room key it stored before the restart.
    const answer = await ask(chat.rooms.chatRoomId, "after the restart", (b) => b === "echo: after the restart");
    expect(answer.isDecryptionFailure()).toBe(false);
    // Still one device for the bot on the server.
    const devices = await chat.client.client.getCrypto()!.getUserDeviceInfo([chat.fx.bot.userId], true);
    expect([...(devices.get(chat.fx.bot.userId)?.keys() ?? [])]).toEqual([deviceBefore]);
  });

  it("gives its first answer after a restart a new room key when someone was invited while it was down", async () => {
    // matrix-js-sdk drops a room's outgoing Megolm session when a member event other than a join comes in
    // (MSC4268); after a restart that event arrives while the room's settings wait for the first sync to
    // end (deferred-room-settings.ts), and the drop must still happen once they reach the crypto.
    const roomId = chat.rooms.chatRoomId;
    const sessionOf = (ev: MatrixEvent): unknown => ev.getWireContent()["session_id"];
    const before = await ask(roomId, "before the invite", (b) => b === "echo: before the invite");
    const again = await ask(roomId, "still before", (b) => b === "echo: still before");
    expect(sessionOf(again)).toBe(sessionOf(before)); // the session is kept while nothing happens
    await chat.fx.app.stop();
    const bob = await synapse.newUser("bob");
    const invited = await fetch(`${synapse.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/invite`, {
      method: "POST",
      headers: { authorization: `Bearer ${chat.fx.bot.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ user_id: bob.userId }),
    });
    expect(invited.status).toBe(200);
    await chat.fx.restart();
    const after = await ask(roomId, "after the invite", (b) => b === "echo: after the invite");
    expect(after.isDecryptionFailure()).toBe(false);
    expect(sessionOf(after)).toEqual(expect.any(String));
    expect(sessionOf(after)).not.toBe(sessionOf(before));
  });

  it("encrypts its answers from the moment a user turns encryption on in a room where it wrote in the clear", async () => {
    // A second DM, made in the clear: the bot answers there unencrypted (and
    // remembers the room as clear), until the user turns encryption on.
    const { room_id: roomId } = await chat.client.client.createRoom({ invite: [chat.fx.bot.userId], name: "plain dm" });
    const greeting = await chat.client.waitForMessage(roomId, (e) => e.getSender() === chat.fx.bot.userId, 60_000);
    expect(greeting.isEncrypted()).toBe(false);
    const clear = await ask(roomId, "!help", (b) => b.includes("!new"));
    expect(clear.isEncrypted()).toBe(false);
    await chat.client.client.sendStateEvent(roomId, "m.room.encryption" as never, { algorithm: "m.megolm.v1.aes-sha2" } as never, "");
    await eventually("the user's client sees the room encrypted", async () =>
      (await chat.client.client.getCrypto()!.isEncryptionEnabledInRoom(roomId)) ? true : undefined,
    );
    const secret = await ask(roomId, "!help", (b) => b.includes("!new"));
    expect(secret.isEncrypted()).toBe(true);
    expect(secret.isDecryptionFailure()).toBe(false);
  });

  async function download(mxc: string): Promise<Buffer> {
    const [server, id] = mxc.slice("mxc://".length).split("/");
    const res = await fetch(new URL(`/_matrix/client/v1/media/download/${server}/${id}`, synapse.baseUrl), {
      headers: { Authorization: `Bearer ${chat.user.accessToken}` },
    });
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  }

  /** Encrypts as the spec says (independently of the bot's code), uploads, and sends through the user's crypto. */
  async function sendEncryptedFile(bytes: Buffer, name: string, opts: { badHash?: boolean } = {}): Promise<string> {
    const key = randomBytes(32);
    const iv = Buffer.concat([randomBytes(8), Buffer.alloc(8)]);
    const cipher = createCipheriv("aes-256-ctr", key, iv);
    const data = Buffer.concat([cipher.update(bytes), cipher.final()]);
    const res = await fetch(new URL("/_matrix/media/v3/upload", synapse.baseUrl), {
      method: "POST",
      headers: { Authorization: `Bearer ${chat.user.accessToken}`, "Content-Type": "application/octet-stream" },
      body: data,
    });
    expect(res.status).toBe(200);
    const url = ((await res.json()) as { content_uri: string }).content_uri;
    const hash = createHash("sha256").update(opts.badHash ? Buffer.from("something else") : data).digest();
    const content = {
      msgtype: "m.file",
      body: name,
      filename: name,
      info: { mimetype: "application/octet-stream", size: bytes.length },
      file: {
        url,
        key: { kty: "oct", key_ops: ["encrypt", "decrypt"], alg: "A256CTR", k: key.toString("base64url"), ext: true },
        iv: b64(iv),
        hashes: { sha256: b64(hash) },
        v: "v2",
      },
    };
    const sent = await chat.client.client.sendEvent(chat.rooms.chatRoomId, "m.room.message" as never, content as never);
    return sent.event_id;
  }
});

function listFiles(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name);
  } catch {
    return [];
  }
}
