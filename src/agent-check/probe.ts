/**
 * The checker's side of one agent connection: the bot's URL rule, bearer
 * header, surface hello and frame parser (src/agents/), but every raw frame
 * is recorded, so a rule can say exactly what was wrong instead of the bot's
 * "log and drop".
 */
import WebSocket from "ws";
import { encodeFrame, parseAgentFrame, PROTOCOL_VERSION, type AgentFrame, type ParseResult, type SurfaceFrame } from "../agents/protocol.js";
import { agentWsUrl } from "../agents/url.js";
import { surfacesVersion } from "../agents/version.js";

/** Same as the bot: frames above 1 MiB are invalid, above this the socket closes (1009). */
const WS_MAX_PAYLOAD = 8 * 1024 * 1024;

export interface Received {
  /** Which connection of the run (1, 2, …). */
  socket: number;
  bytes: number;
  parsed: ParseResult<AgentFrame>;
}

export type Listener = (frame: Received) => void;

export interface ConnectOptions {
  baseUrl: string;
  /** Sent as `Authorization: Bearer …` when set. */
  token?: string;
  timeoutMs: number;
  /** Protocol number of our hello (a mismatch probe sends another one). */
  protocol?: number;
}

export type Connected =
  | { ok: true; socket: ProbeSocket; hello: Extract<AgentFrame, { type: "hello" }> }
  | { ok: false; why: string; status?: number; socket?: ProbeSocket };

let socketSeq = 0;

export class ProbeSocket {
  readonly id = ++socketSeq;
  readonly frames: Received[] = [];
  /** Set once the socket closed. */
  closeInfo: { code: number; reason: string } | undefined;
  private readonly listeners = new Set<Listener>();
  private readonly closeWaiters = new Set<() => void>();

  constructor(
    private readonly ws: WebSocket,
    private readonly record: Listener,
  ) {
    ws.on("message", (data, isBinary) => {
      const raw = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      const text = raw.toString("utf8");
      const parsed: ParseResult<AgentFrame> = isBinary ? { ok: false, reason: "binary frame (protocol v1 uses text frames only)" } : parseAgentFrame(text);
      const frame: Received = { socket: this.id, bytes: raw.length, parsed };
      this.frames.push(frame);
      this.record(frame);
      for (const listener of [...this.listeners]) listener(frame);
    });
    ws.on("close", (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      for (const done of [...this.closeWaiters]) done();
    });
    ws.on("error", () => undefined); // the close event carries what matters
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: SurfaceFrame): void {
    this.sendRaw(encodeFrame(frame));
  }

  sendRaw(raw: string): void {
    if (this.open) this.ws.send(raw);
  }

  /** Calls `listener` for every later frame until the returned function is called. */
  listen(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the close code, or undefined if still open after `timeoutMs`. */
  waitClosed(timeoutMs: number): Promise<{ code: number; reason: string } | undefined> {
    if (this.closeInfo) return Promise.resolve(this.closeInfo);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.closeWaiters.delete(done);
        resolve(this.closeInfo);
      };
      const timer = setTimeout(done, timeoutMs);
      this.closeWaiters.add(done);
    });
  }

  /** Polite close (what the bot does on shutdown). */
  async close(): Promise<void> {
    if (this.closeInfo) return;
    this.ws.close(1001, "agent-check done");
    if (!(await this.waitClosed(1000))) this.ws.terminate();
  }

  /** Drops the TCP connection without a close handshake (a crashed or partitioned surface). */
  terminate(): void {
    this.ws.terminate();
  }
}

/**
 * Opens `{base_url}/agent_ws/`, sends the surface hello and waits for the
 * agent's. Every frame (including the hello) goes to `record`.
 */
export function connect(options: ConnectOptions, record: Listener): Promise<Connected> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let url: string;
  try {
    url = agentWsUrl(options.baseUrl);
  } catch (err) {
    return Promise.resolve({ ok: false, why: err instanceof Error ? err.message : String(err) });
  }
  const ws = new WebSocket(url, { headers, maxPayload: WS_MAX_PAYLOAD, handshakeTimeout: options.timeoutMs });
  const socket = new ProbeSocket(ws, record);
  return new Promise<Connected>((resolve) => {
    let settled = false;
    const finish = (result: Connected): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop();
      resolve(result);
    };
    const timer = setTimeout(() => {
      finish({ ok: false, why: `no hello from the agent within ${options.timeoutMs} ms`, socket });
    }, options.timeoutMs);
    ws.on("unexpected-response", (_req, res) => {
      finish({ ok: false, why: `upgrade refused: HTTP ${res.statusCode}`, status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.on("error", (err) => finish({ ok: false, why: `cannot connect to ${url}: ${err.message}` }));
    ws.on("open", () => {
      socket.send({ type: "hello", protocol: options.protocol ?? PROTOCOL_VERSION, surface: "matrix", version: surfacesVersion() });
    });
    ws.on("close", (code, reason) => finish({ ok: false, why: `socket closed (${code} ${reason.toString()}) before the agent's hello`, socket }));
    const stop = socket.listen((frame) => {
      if (!frame.parsed.ok) {
        finish({ ok: false, why: `first frame is not a valid hello: ${frame.parsed.reason}`, socket });
      } else if (frame.parsed.frame.type !== "hello") {
        finish({ ok: false, why: `first frame is a ${frame.parsed.frame.type}, not a hello`, socket });
      } else {
        finish({ ok: true, socket, hello: frame.parsed.frame });
      }
    });
  });
}
