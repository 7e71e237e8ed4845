/**
 * The example Python agent (examples/python-agent/, a real python process
 * from the venv of scripts/python-agent/install.sh) behind the real bot and
 * Synapse: a user's message comes back as a streamed answer, and the report
 * the agent writes arrives in the room as a file with the bytes on disk.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allEvents, botMessages, eventually, startChat, type ChatFixture } from "../support/bot.js";
import { startPythonAgent, type PythonAgent } from "../support/python-agent.js";
import { useSynapse } from "../support/synapse-env.js";

describe("the example Python agent behind the bot", () => {
  const synapse = useSynapse();
  let agent: PythonAgent;
  let chat: ChatFixture;
  let workspace: string;

  beforeAll(async () => {
    workspace = mkdtempSync(join(tmpdir(), "surfaces-e2e-python-agent-"));
    agent = await startPythonAgent({ workspace });
    chat = await startChat({ agents: [{ id: "py", baseUrl: agent.url, workspace }], env: { SURFACES_EDIT_INTERVAL_MS: "200" } });
  });
  afterAll(async () => {
    await chat?.stop();
    await agent?.close();
  });

  it("message → streamed answer → the report as a file in the room", async () => {
    const { user, client, rooms, fx } = chat;
    const text = "please write a report about the twelve quarterly numbers we discussed in the meeting yesterday afternoon";
    const words = text.split(" ").length;
    const sent = await client.sendText(rooms.chatRoomId, text);
    const after = async () => {
      const events = await allEvents(synapse.baseUrl, user.accessToken, rooms.chatRoomId);
      return new Set(events.slice(events.findIndex((e) => e.event_id === sent) + 1).map((e) => e.event_id));
    };

    // The answer, then the trail of the report tool it ran (docs/user-guide.md).
    const expected = `You said (${words} words): ${text}\n\n🔧 1 tool call:\n✅ write_report — wrote reports/report-${fx.app.store.rooms.get(rooms.chatRoomId as never)?.chatId}.md`;
    const answer = await eventually("the streamed answer", async () => {
      const fresh = await after();
      return (await botMessages(synapse.baseUrl, user.accessToken, rooms.chatRoomId, fx.bot.userId)).find((m) => fresh.has(m.eventId) && m.body === expected);
    }, 60_000);
    // Streamed: one message, posted early and edited as the words arrived.
    expect(answer.editCount).toBeGreaterThan(0);
    expect(answer.originalBody).not.toBe(expected);

    const file = await eventually("the report file", async () => {
      const fresh = await after();
      return (await botMessages(synapse.baseUrl, user.accessToken, rooms.chatRoomId, fx.bot.userId)).find((m) => fresh.has(m.eventId) && m.event.content["url"] !== undefined);
    }, 60_000);
    const content = file.event.content as { msgtype: string; filename: string; url: string; info: { mimetype: string; size: number } };
    expect(content.msgtype).toBe("m.file");
    const chatId = fx.app.store.rooms.get(rooms.chatRoomId as never)?.chatId;
    expect(content.filename).toBe(`report-${chatId}.md`);
    const onDisk = readFileSync(join(workspace, "reports", `report-${chatId}.md`));
    expect(onDisk.toString()).toContain("# Report");
    const [server, id] = content.url.slice("mxc://".length).split("/");
    const res = await fetch(new URL(`/_matrix/client/v1/media/download/${server}/${id}`, synapse.baseUrl), {
      headers: { Authorization: `Bearer ${user.accessToken}` },
    });
    expect(Buffer.from(await res.arrayBuffer()).equals(onDisk)).toBe(true);
  });
});
