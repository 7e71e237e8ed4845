/**
 * A small protocol v1 agent built on `ws` for the agent-check tests: correct
 * by default, with one switch per rule that breaks exactly that behaviour.
 * Prompts: "LONG" streams for ~2 s, "FILE" sends report.txt, anything else
 * answers "ok" after a short delay (so two turns really overlap).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import WebSocket, { WebSocketServer } from "ws";

export type Fault =
  | "health-500"
  | "no-hello"
  | "accepts-any-token"
  | "ignores-version"
  | "silent-mismatch"
  | "double-end"
  | "closes-on-unknown-type"
  | "one-turn-at-a-time"
  | "ignores-cancel"
  | "closes-on-late-cancel"
  | "closes-on-chat-closed"
  | "file-outside"
  | "ghosts-after-reconnect"
  | "invalid-frame"
  | "oversized-frame"
  | "unknown-request-id";

export interface FakeAgent {
  url: string;
  close(): Promise<void>;
}

type Frame = Record<string, unknown> & { type: string };

export async function startFakeAgent(opts: { fault?: Fault; token?: string } = {}): Promise<FakeAgent> {
  const { fault, token } = opts;
  const wss = new WebSocketServer({ noServer: true });
  const timers = new Set<NodeJS.Timeout>();
  let latest: WebSocket | undefined;
  const later = (ms: number, fn: () => void): NodeJS.Timeout => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  };

  const server: Server = createServer((req, res) => {
    if (req.url === "/health" && fault !== "health-500") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    } else {
      res.writeHead(fault === "health-500" ? 500 : 404).end();
    }
  });
  server.on("upgrade", (req, socket, head) => {
    const authorised = token === undefined || fault === "accepts-any-token" || req.headers.authorization === `Bearer ${token}`;
    if (!req.url?.startsWith("/agent_ws/") || !authorised) {
      socket.end(`HTTP/1.1 ${authorised ? 404 : 401} No\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => session(ws));
  });

  function session(ws: WebSocket): void {
    let greeted = false;
    let busy = false;
    const turns = new Map<string, NodeJS.Timeout[]>();
    // The "ghosts" fault sends through whichever socket is newest, like an agent with one global connection.
    const send = (frame: Frame): void => {
      const target = fault === "ghosts-after-reconnect" ? latest : ws;
      if (target?.readyState === WebSocket.OPEN) target.send(JSON.stringify(frame));
    };
    const end = (id: string): void => {
      for (const t of turns.get(id) ?? []) clearTimeout(t);
      turns.delete(id);
      busy = false;
      send({ type: "end", request_id: id });
      if (fault === "double-end") send({ type: "end", request_id: id });
    };
    ws.on("close", (code) => {
      // Abandon this socket's turns (unless the fault is to keep them going).
      if (fault === "ghosts-after-reconnect" && code !== 1001) return;
      for (const list of turns.values()) for (const t of list) clearTimeout(t);
    });
    ws.on("message", (data) => {
      const frame = JSON.parse((data as Buffer).toString("utf8")) as Frame;
      if (!greeted) {
        if (frame.type !== "hello") return ws.close(4002, "expected hello");
        if (fault === "no-hello") return;
        if (fault === "silent-mismatch" && frame["protocol"] !== 1) return ws.close(4001, "protocol mismatch");
        ws.send(JSON.stringify({ type: "hello", protocol: 1, agent: { name: "fake", version: "0.0.1" }, capabilities: ["cancel", "files"] }));
        if (frame["protocol"] !== 1 && fault !== "ignores-version") return ws.close(4001, "protocol mismatch");
        greeted = true;
        latest = ws;
        return;
      }
      const id = typeof frame["request_id"] === "string" ? frame["request_id"] : "";
      switch (frame.type) {
        case "message": {
          if (busy && fault === "one-turn-at-a-time") return;
          busy = true;
          const text = String(frame["text"]);
          if (text === "LONG") {
            const steps = Array.from({ length: 100 }, (_, i) => later(20 * (i + 1), () => send({ type: "text", request_id: id, delta: `${i} ` })));
            turns.set(id, [...steps, later(2100, () => end(id))]);
          } else if (text === "FILE") {
            send({ type: "file", request_id: id, path: fault === "file-outside" ? "../outside.txt" : "report.txt" });
            end(id);
          } else {
            turns.set(id, [
              later(20, () => {
                send({ type: "text", request_id: id, delta: "ok" });
                if (fault === "invalid-frame") send({ type: "text", request_id: id, delta: 42 });
                if (fault === "oversized-frame") send({ type: "text", request_id: id, delta: "x".repeat(1024 * 1024 + 10) });
                if (fault === "unknown-request-id") send({ type: "text", request_id: "ghost-turn", delta: "boo" });
              }),
              later(60, () => end(id)),
            ]);
          }
          return;
        }
        case "cancel":
          if (fault !== "ignores-cancel" && turns.has(id)) end(id);
          else if (fault === "closes-on-late-cancel") ws.close(1011, "no such turn");
          return;
        case "chat_closed":
          if (fault === "closes-on-chat-closed") ws.close(1011, "unexpected frame");
          return;
        case "confirm_result":
          return;
        default:
          if (fault === "closes-on-unknown-type") ws.close(1003, "unknown frame type");
      }
    });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const client of wss.clients) client.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
