import type { RegisteredUser } from "../dev/synapse.js";

/**
 * Plays the demo user once over the raw client-server API: invite the bot,
 * join the Space and chat room it makes, say "hello", return the answer.
 */
export async function runSmoke(baseUrl: string, user: RegisteredUser, bot: string, timeoutMs = 60_000): Promise<string> {
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(new URL(`/_matrix/client/v3${path}`, baseUrl), {
      method,
      headers: { Authorization: `Bearer ${user.accessToken}`, "Content-Type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const deadline = Date.now() + timeoutMs;
  await api("POST", "/createRoom", { preset: "private_chat", invite: [bot], name: "smoke lobby" });

  let chatRoom: string | undefined;
  // Follow next_batch: Synapse caches identical initial syncs for minutes.
  let since = "";
  while (!chatRoom) {
    if (Date.now() > deadline) throw new Error("smoke: no chat room arrived from the bot");
    const sync = await api<{ next_batch: string; rooms?: { invite?: Record<string, unknown> } }>(
      "GET",
      `/sync?timeout=1000${since ? `&since=${encodeURIComponent(since)}` : ""}`,
    );
    since = sync.next_batch;
    for (const roomId of Object.keys(sync.rooms?.invite ?? {})) {
      await api("POST", `/join/${encodeURIComponent(roomId)}`, {});
      const binding = await api<{ kind?: string }>("GET", `/rooms/${encodeURIComponent(roomId)}/state/org.surfaces.room/`);
      if (binding.kind === "chat") chatRoom = roomId;
    }
  }

  await api("PUT", `/rooms/${encodeURIComponent(chatRoom)}/send/m.room.message/smoke-${Date.now()}`, { msgtype: "m.text", body: "hello" });
  for (;;) {
    if (Date.now() > deadline) throw new Error("smoke: no answer to hello");
    const page = await api<{ chunk: Array<{ sender: string; content: Record<string, unknown> }> }>(
      "GET",
      `/rooms/${encodeURIComponent(chatRoom)}/messages?dir=b&limit=50`,
    );
    const answer = page.chunk.find((e) => e.sender === bot && typeof e.content["body"] === "string" && String(e.content["body"]).includes("hello"));
    if (answer) {
      const newContent = answer.content["m.new_content"] as { body?: string } | undefined;
      return newContent?.body ?? String(answer.content["body"]);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
