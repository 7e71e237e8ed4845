/**
 * The reference agent: an HTTP server with `GET /health` and the protocol v1
 * WebSocket at `/agent_ws/`. Used by tests, the demo and the compose stack.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import { PROTOCOL_VERSION } from "../agents/protocol.js";
import { surfacesVersion } from "../agents/version.js";
import { createLlmResponder } from "./llm.js";
import type { ProviderConfig } from "./llm-stream.js";
import type { Responder } from "./responder.js";
import { createScriptedResponder } from "./scripted.js";
import { AgentSession, type ReferenceAgentStats } from "./session.js";

export type ReferenceAgentMode = "scripted" | "llm";

export interface ReferenceAgentOptions {
  /** 0 = a random free port. Default 0. */
  port?: number;
  /** Default 127.0.0.1; containers pass 0.0.0.0. */
  host?: string;
  /** The workspace root this agent serves (file paths in frames are relative to it). */
  workspace: string;
  /** When set, the upgrade must carry `Authorization: Bearer <token>`. */
  token?: string;
  mode?: ReferenceAgentMode;
  /** Required in `llm` mode: the OpenAI-compatible endpoint to stream from. */
  provider?: ProviderConfig;
  logger: Logger;
}

export interface ReferenceAgent {
  /** http://127.0.0.1:PORT (or the configured host). */
  url: string;
  port: number;
  stats: ReferenceAgentStats;
  close(): Promise<void>;
}

const WS_MAX_PAYLOAD = 8 * 1024 * 1024;

export async function startReferenceAgent(opts: ReferenceAgentOptions): Promise<ReferenceAgent> {
  const mode = opts.mode ?? "scripted";
  const host = opts.host ?? "127.0.0.1";
  const logger = opts.logger.child({ component: "reference-agent" });
  const responder = createResponder(mode, opts, logger);
  const stats: ReferenceAgentStats = { connections: 0, messages: [], cancels: [], confirmResults: [], closedChats: [] };
  const sessions = new Set<AgentSession>();
  const timers = new Set<NodeJS.Timeout>();
  const agent = { name: "surfaces-reference-agent", version: surfacesVersion() };

  const sessionHost = {
    logger,
    responder,
    stats,
    agent,
    notify(origin: AgentSession, chatId: string, text: string, delayMs: number): void {
      const timer = setTimeout(() => {
        timers.delete(timer);
        const target = origin.open ? origin : [...sessions].reverse().find((s) => s.open);
        if (!target) {
          logger.warn({ chat_id: chatId }, "no surface connected; notify dropped");
          return;
        }
        target.send({ type: "notify", chat_id: chatId, text });
      }, delayMs);
      timers.add(timer);
    },
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD });
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/health") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: "ok", mode, protocol: PROTOCOL_VERSION }));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "not found" }));
  });

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== "/agent_ws/" && path !== "/agent_ws") return reject(socket, 404, "Not Found");
    if (opts.token !== undefined && req.headers.authorization !== `Bearer ${opts.token}`) {
      logger.warn("refused a connection with a missing or wrong bearer token");
      return reject(socket, 401, "Unauthorized");
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      stats.connections++;
      const session = new AgentSession(ws, sessionHost);
      sessions.add(session);
      ws.on("close", () => sessions.delete(session));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  logger.info({ port, host, mode, workspace: opts.workspace, auth: opts.token !== undefined }, "reference agent listening");

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    stats,
    close: () => {
      closing ??= (async () => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        for (const client of wss.clients) client.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        logger.info({ port }, "reference agent stopped");
      })();
      return closing;
    },
  };
}

function createResponder(mode: ReferenceAgentMode, opts: ReferenceAgentOptions, logger: Logger): Responder {
  if (mode === "scripted") return createScriptedResponder();
  if (!opts.provider) throw new Error('reference agent mode "llm" needs a provider (PROVIDER_URL, PROVIDER_MODEL)');
  return createLlmResponder({ provider: opts.provider, workspace: opts.workspace, logger });
}

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
