/**
 * The floor: a minimal echo client with no logic. Raw client-server API,
 * /sync long-poll with a since token; every m.text from someone else gets
 * "echo: <body>" back in the same room. Run as a child process like the bot.
 */
import { Cs, SyncLoop } from "./cs-api.js";
import { countRequests, takeRequestCounts } from "./request-count.js";

countRequests();

const [baseUrl, token, userId] = [process.env["ECHO_BASE_URL"], process.env["ECHO_TOKEN"], process.env["ECHO_USER_ID"]];
if (!baseUrl || !token || !userId) throw new Error("ECHO_BASE_URL, ECHO_TOKEN and ECHO_USER_ID are required");
const cs = new Cs(baseUrl, token, userId);
const sync = new SyncLoop(cs);
sync.onEvent(({ roomId, event }) => {
  if (event.type !== "m.room.message" || event.sender === userId) return;
  const body = event.content["body"];
  if (typeof body !== "string") return;
  cs.sendText(roomId, `echo: ${body}`).catch((err: unknown) => process.stderr.write(`echo send failed: ${String(err)}\n`));
});

process.on("message", (msg: { cmd: string; id: number }) => {
  if (msg.cmd === "requests") process.send?.({ type: "reply", id: msg.id, counts: takeRequestCounts() });
  if (msg.cmd === "stop") {
    void sync.stop().then(() => {
      process.send?.({ type: "reply", id: msg.id });
      process.exit(0);
    });
  }
});

sync
  .start()
  .then(() => process.send?.({ type: "ready", readyMs: 0, rooms: 0 }))
  .catch((err: unknown) => {
    process.send?.({ type: "error", message: String(err) });
    process.exit(1);
  });
