/**
 * Each way the media port can refuse a user's file becomes the notice that
 * says why (the quota and the disk floor included), and nothing is forwarded.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { FileRefusal, MediaPort } from "../../src/core/chat-port.js";
import { prepareFiles } from "../../src/core/file-flow.js";
import { asAgentId, asChatId, asRoomId, asUserId } from "../../src/core/ids.js";
import { strings } from "../../src/core/strings.js";
import { recordingChat } from "../integration/recording-chat.js";

const refusing = (refusal: FileRefusal): MediaPort => ({
  fetchToWorkspace: async () => ({ ok: false, name: "big.bin", ...refusal }),
  sendFile: async () => ({ ok: false, reason: "failed" }),
});
const input = {
  roomId: asRoomId("!r:localhost"),
  agentId: asAgentId("a"),
  chatId: asChatId("c"),
  userId: asUserId("@u:localhost"),
  text: "",
  files: [{ source: "mxc://localhost/x", name: "big.bin", size: 10 }],
  key: "in.$e",
};

describe("prepareFiles refusals", () => {
  it.each([
    [{ reason: "too_large", limitBytes: 1000 } as const, strings.fileTooLargeIn("big.bin", 1000)],
    [{ reason: "quota", limitBytes: 2048 } as const, strings.fileQuotaExceeded("big.bin", 2048)],
    [{ reason: "disk_full" } as const, strings.fileDiskFull("big.bin")],
    [{ reason: "failed" } as const, strings.fileFetchFailed("big.bin")],
  ])("%o → its own notice, nothing forwarded", async (refusal, notice) => {
    const chat = recordingChat();
    expect(await prepareFiles(refusing(refusal), chat, input, pino({ level: "silent" }))).toBeNull();
    expect(chat.notices).toEqual([{ roomId: input.roomId, text: notice, key: "in.$e.file-refused" }]);
  });

  it("the quota and disk notices say why and that nothing was delivered", () => {
    expect(strings.fileQuotaExceeded("a.bin", 2 * 1024 * 1024 * 1024)).toMatch(/2(\.0)? GiB quota.*Nothing was delivered/);
    expect(strings.fileDiskFull("a.bin")).toMatch(/disk is almost full.*Nothing was delivered/);
  });
});
