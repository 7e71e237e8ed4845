/**
 * A reference agent in its own process, so a flooding agent loads its own
 * CPU, not the process that measures. Counts the bytes of text frames it has
 * written, so the parent knows while the flood is still on.
 */
import pino from "pino";
import { WebSocket } from "ws";
import { startReferenceAgent, type ReferenceAgent } from "../../src/reference-agent/server.js";

let textBytes = 0;
type SendFn = (data: unknown, ...rest: unknown[]) => void;
const proto = WebSocket.prototype as unknown as { send: SendFn };
const origSend = proto.send;
proto.send = function (this: unknown, data: unknown, ...rest: unknown[]) {
  if (typeof data === "string" && data.startsWith('{"type":"text"')) textBytes += data.length;
  return origSend.call(this, data, ...rest);
};

let agent: ReferenceAgent | undefined;

process.on("message", (msg: { cmd: string; id: number }) => {
  const reply = (data: object): void => void process.send?.({ type: "reply", id: msg.id, ...data });
  switch (msg.cmd) {
    case "url":
      reply({ url: agent?.url });
      return;
    case "sent":
      reply({ textBytes });
      return;
    case "stop":
      void (async () => {
        await agent?.close();
        reply({});
        process.exit(0);
      })();
      return;
  }
});

const workspace = process.env["AGENT_WORKSPACE"];
if (!workspace) throw new Error("AGENT_WORKSPACE is required");
startReferenceAgent({ workspace, logger: pino({ level: "silent" }) })
  .then((a) => {
    agent = a;
    process.send?.({ type: "ready", readyMs: 0, rooms: 0 });
  })
  .catch((err: unknown) => {
    process.send?.({ type: "error", message: String((err as Error).stack ?? err) });
    process.exit(1);
  });
