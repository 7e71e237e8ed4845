/**
 * Smoke test of the real-Synapse harness itself: shared server, user
 * clients, raw room reads, rate-limit overrides, restart and data-dir reuse.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fetchRoomMessages, matrixFetch, sendTextRaw, shownMessages } from "../support/room-messages.js";
import { getRateLimitOverride, loginWithPassword, startSynapse, whoami, type SynapseHandle } from "../support/synapse.js";
import { useSynapse } from "../support/synapse-env.js";
import { startUserClient, type UserClient } from "../support/user-client.js";

async function createRoom(baseUrl: string, token: string, invite: string[] = []): Promise<string> {
  const res = await matrixFetch<{ room_id: string }>(baseUrl, token, "POST", "/_matrix/client/v3/createRoom", {
    preset: "private_chat",
    invite,
  });
  expect(res.status).toBe(200);
  return res.json.room_id;
}

async function burst(baseUrl: string, token: string, roomId: string, n: number): Promise<number[]> {
  const sends = Array.from({ length: n }, (_, i) => sendTextRaw(baseUrl, token, roomId, `burst ${i}`));
  return (await Promise.all(sends)).map((r) => r.status);
}

describe("shared Synapse", () => {
  const synapse = useSynapse();
  const clients: UserClient[] = [];
  afterAll(() => clients.forEach((c) => c.stop()));

  it("lets one user invite another, who joins and sees a message and its edit", async () => {
    const alice = await synapse.newUser("alice");
    const bob = await synapse.newUser("bob");
    expect(alice.userId).toMatch(/^@alice-[0-9a-f]+:localhost$/);

    const bobClient = await startUserClient(synapse.baseUrl, bob);
    clients.push(bobClient);
    const roomId = await createRoom(synapse.baseUrl, alice.accessToken, [bob.userId]);
    expect(await bobClient.waitForInvite((r) => r.roomId === roomId)).toBe(roomId);
    await bobClient.joinRoom(roomId);

    const sent = await sendTextRaw(synapse.baseUrl, alice.accessToken, roomId, "hello bob");
    expect(sent.status).toBe(200);
    const seen = await bobClient.waitForMessage(roomId, (ev) => ev.getSender() === alice.userId);
    expect(seen.getId()).toBe(sent.json.event_id);

    const original = sent.json.event_id ?? "";
    const edit = await matrixFetch(
      synapse.baseUrl,
      alice.accessToken,
      "PUT",
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/edit-1`,
      {
        msgtype: "m.text",
        body: "* hello again",
        "m.new_content": { msgtype: "m.text", body: "hello again" },
        "m.relates_to": { rel_type: "m.replace", event_id: original },
      },
    );
    expect(edit.status).toBe(200);
    await bobClient.waitForMessage(roomId, (ev, text) => ev.getId() === original && text === "hello again");
    expect(bobClient.messages(roomId).filter((ev) => ev.getSender() === alice.userId)).toHaveLength(1);

    const shown = shownMessages(await fetchRoomMessages(synapse.baseUrl, bob.accessToken, roomId));
    expect(shown).toEqual([
      expect.objectContaining({ eventId: original, body: "hello again", originalBody: "hello bob", editCount: 1 }),
    ]);
  });

  it("has message rate limits raised far above a burst, or Synapse's own in the default-limits run", async () => {
    const carol = await synapse.newUser("carol");
    const roomId = await createRoom(synapse.baseUrl, carol.accessToken);
    const statuses = await burst(synapse.baseUrl, carol.accessToken, roomId, 30);
    if (!synapse.defaultRateLimits) return void expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // SURFACES_E2E_DEFAULT_LIMITS=1: rc_message (burst 10) holds for a test user.
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
  });

  it("sets, reads and deletes a per-user rate-limit override", async () => {
    const dave = await synapse.newUser("dave");
    await synapse.overrideRateLimit(dave.userId, { messagesPerSecond: 0, burstCount: 0 });
    expect(await getRateLimitOverride(synapse.baseUrl, synapse.adminToken, dave.userId)).toEqual({
      messagesPerSecond: 0,
      burstCount: 0,
    });
    await synapse.deleteRateLimitOverride(dave.userId);
    expect(await getRateLimitOverride(synapse.baseUrl, synapse.adminToken, dave.userId)).toBeUndefined();
  });
});

describe("private Synapse in a data dir, with default rate limits", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "surfaces-harness-"));
  let hs: SynapseHandle | undefined;
  afterAll(async () => {
    await hs?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("enforces Synapse's limits until an override lifts them, and keeps rooms across restart and reuse", async () => {
    hs = await startSynapse({ dir, defaultRateLimits: true });
    const erin = await hs.registerUser("erin", "erin-password");
    const roomId = await createRoom(hs.baseUrl, erin.accessToken);

    // Default rc_message burst is 10: a burst of 20 must meet a 429.
    expect(await burst(hs.baseUrl, erin.accessToken, roomId, 20)).toContain(429);
    await hs.overrideRateLimit(erin.userId, { messagesPerSecond: 0, burstCount: 0 });
    expect((await burst(hs.baseUrl, erin.accessToken, roomId, 20)).filter((s) => s !== 200)).toEqual([]);
    const before = shownMessages(await fetchRoomMessages(hs.baseUrl, erin.accessToken, roomId)).length;
    expect(before).toBeGreaterThanOrEqual(20);

    await hs.restart();
    expect(hs.isRunning()).toBe(true);
    expect(shownMessages(await fetchRoomMessages(hs.baseUrl, erin.accessToken, roomId))).toHaveLength(before);

    await hs.kill();
    expect(hs.isRunning()).toBe(false);
    await hs.restart();
    expect((await sendTextRaw(hs.baseUrl, erin.accessToken, roomId, "after crash")).status).toBe(200);

    // A second start on the same dir reuses secret, port, admin and database.
    const first = hs;
    await first.stop();
    hs = await startSynapse({ dir });
    expect(hs.sharedSecret).toBe(first.sharedSecret);
    expect(hs.port).toBe(first.port);
    expect(await whoami(hs.baseUrl, hs.adminToken)).toBe(first.adminUserId);
    const again = await loginWithPassword(hs.baseUrl, erin.userId, "erin-password");
    expect(shownMessages(await fetchRoomMessages(hs.baseUrl, again.accessToken, roomId))).toHaveLength(before + 1);
  });
});
