/**
 * `agent-check`: drives an agent through protocol v1 the way the bot would
 * and judges each rule of docs/agent-protocol.md separately. Rules run in a
 * fixed order on one main connection (plus short extra connections for auth,
 * version and reconnect probes); a rule that cannot run because an earlier
 * one broke the connection fails with that reason.
 */
import { MAX_FRAME_BYTES, PROTOCOL_VERSION } from "../agents/protocol.js";
import { filePathProblem } from "./paths.js";
import { connect, type ConnectOptions, type ProbeSocket, type Received } from "./probe.js";
import { Turn, turnProblem, turnSummary } from "./turn.js";

export type Verdict = "pass" | "fail" | "skip";

export interface RuleResult {
  rule: RuleName;
  verdict: Verdict;
  detail: string;
}

export const RULES = [
  "health",
  "handshake",
  "auth",
  "version",
  "plain-turn",
  "forward-compat",
  "interleaved",
  "cancel",
  "chat-closed",
  "files",
  "reconnect",
  "frames",
] as const;
export type RuleName = (typeof RULES)[number];

export interface AgentCheckOptions {
  baseUrl: string;
  /** The bearer token the agent expects, if it expects one. */
  token?: string;
  /** The agent's workspace as seen from here: `file` frames are then checked on disk too. */
  workspace?: string;
  /** Text of ordinary turns. */
  prompt: string;
  /** Text of turns that should run a while (cancel and reconnect probes). */
  longPrompt: string;
  /** Text that makes the agent send a workspace file; without it `files` only judges files sent anyway. */
  filePrompt?: string;
  /** A turn must end within this. */
  turnTimeoutMs: number;
  /** After `cancel`, the turn must end within this. */
  cancelBoundMs: number;
  /** Upgrade + hello, and close after a version mismatch, within this. */
  handshakeTimeoutMs: number;
  /** How long to watch for stray frames after a turn's end. */
  settleMs: number;
}

export const DEFAULT_CHECK_OPTIONS = {
  prompt: "Hello from surfaces agent-check. Please answer briefly.",
  longPrompt: "Please write a long, detailed answer: count slowly from one to two hundred, one number per line.",
  turnTimeoutMs: 60_000,
  cancelBoundMs: 5_000,
  handshakeTimeoutMs: 10_000,
  settleMs: 500,
} satisfies Partial<AgentCheckOptions>;

/** Runs every rule; `onResult` sees each line as soon as it is decided. */
export async function runAgentCheck(options: AgentCheckOptions, onResult: (r: RuleResult) => void = () => undefined): Promise<RuleResult[]> {
  const results: RuleResult[] = [];
  const put = (rule: RuleName, verdict: Verdict, detail: string): void => {
    const result = { rule, verdict, detail };
    results.push(result);
    onResult(result);
  };
  const all: Received[] = [];
  const issued = new Set<string>();
  const connectOptions = (extra: Partial<ConnectOptions> = {}): ConnectOptions => ({
    baseUrl: options.baseUrl,
    timeoutMs: options.handshakeTimeoutMs,
    ...(options.token !== undefined && { token: options.token }),
    ...extra,
  });
  const record = (frame: Received): void => void all.push(frame);
  const turn = (socket: ProbeSocket, chatId: string, text: string, extra?: Record<string, unknown>): Turn => {
    const t = new Turn(socket, chatId, text, extra);
    issued.add(t.requestId);
    return t;
  };
  const sockets: ProbeSocket[] = [];
  let main: ProbeSocket | undefined;

  try {
    put("health", ...(await checkHealth(options)));

    const first = await connect(connectOptions(), record);
    if (first.socket) sockets.push(first.socket);
    if (!first.ok) {
      put("handshake", "fail", first.why + (first.status === 401 ? " — the agent wants a bearer token: pass --token or set AGENT_TOKEN" : ""));
    } else if (first.hello.protocol !== PROTOCOL_VERSION) {
      put("handshake", "fail", `the agent's hello says protocol ${first.hello.protocol}; this surface speaks ${PROTOCOL_VERSION}`);
    } else {
      const { agent, capabilities } = first.hello;
      put("handshake", "pass", `protocol ${PROTOCOL_VERSION}, agent ${agent.name} ${agent.version}, capabilities [${capabilities.join(", ")}]`);
    }

    put("auth", ...(await checkAuth(options, connectOptions, record, first.ok)));
    put("version", ...(await checkVersion(connectOptions, record, sockets)));

    main = first.ok && first.hello.protocol === PROTOCOL_VERSION ? first.socket : undefined;
    const needMain = (rule: RuleName): ProbeSocket | undefined => {
      if (main?.open) return main;
      put(rule, "fail", main ? `not run: the connection closed earlier (code ${main.closeInfo?.code ?? "?"})` : "not run: no handshake");
      return undefined;
    };
    const { turnTimeoutMs: timeout, settleMs } = options;

    let socket = needMain("plain-turn");
    if (socket) {
      const outcome = await turn(socket, "agent-check-1", options.prompt).finish(timeout, settleMs);
      const problem = turnProblem(outcome, timeout);
      put("plain-turn", problem ? "fail" : "pass", problem ?? turnSummary(outcome));
    }

    socket = needMain("forward-compat");
    if (socket) {
      socket.sendRaw(JSON.stringify({ type: "x_agent_check_probe", note: "unknown frame types must be ignored" }));
      const outcome = await turn(socket, "agent-check-1", options.prompt, { x_agent_check: { note: "unknown fields must be ignored" } }).finish(timeout, settleMs);
      const problem = turnProblem(outcome, timeout);
      put("forward-compat", problem ? "fail" : "pass", problem ? `after an unknown frame type and a message with an unknown field: ${problem}` : "an unknown frame type and an unknown field were ignored");
    }

    socket = needMain("interleaved");
    if (socket) {
      const a = turn(socket, "agent-check-2", options.prompt);
      const b = turn(socket, "agent-check-3", options.prompt);
      const [ra, rb] = await Promise.all([a.finish(timeout, settleMs), b.finish(timeout, settleMs)]);
      const chats: Array<[string, typeof ra]> = [["chat agent-check-2", ra], ["chat agent-check-3", rb]];
      const problem = chats
        .map(([chat, r]) => [chat, turnProblem(r, timeout)] as const)
        .find(([, p]) => p !== undefined);
      put("interleaved", problem ? "fail" : "pass", problem ? `${problem[0]}: ${problem[1]}` : `two concurrent turns on two chat ids each ended once (${ra.endMs} ms, ${rb.endMs} ms)`);
    }

    socket = needMain("cancel");
    if (socket) put("cancel", ...(await checkCancel(options, turn(socket, "agent-check-4", options.longPrompt), socket)));

    socket = needMain("chat-closed");
    if (socket) {
      socket.send({ type: "chat_closed", chat_id: "agent-check-2", reason: "cleared" });
      const outcome = await turn(socket, "agent-check-5", options.prompt).finish(timeout, settleMs);
      const problem = turnProblem(outcome, timeout);
      put("chat-closed", problem ? "fail" : "pass", problem ? `after chat_closed: ${problem}` : "chat_closed accepted; the next turn ran normally");
    }

    if (options.filePrompt !== undefined) {
      socket = needMain("files");
      if (socket) {
        const outcome = await turn(socket, "agent-check-6", options.filePrompt).finish(timeout, settleMs);
        const problem = turnProblem(outcome, timeout);
        if (problem) put("files", "fail", `the file turn: ${problem}`);
        else if (!outcome.frames.some((f) => f.type === "file")) put("files", "fail", "the file prompt's turn sent no file frame");
        else put("files", ...(await checkFiles(all, options.workspace)));
      }
    } else {
      const seen = all.some((r) => r.parsed.ok && r.parsed.frame.type === "file");
      if (seen) put("files", ...(await checkFiles(all, options.workspace)));
      else put("files", "skip", "no file frame seen; pass --file-prompt with a prompt that makes the agent send a workspace file");
    }

    const reconnect = await checkReconnect(options, main, connectOptions, record, turn, sockets);
    main = reconnect.socket;
    put("reconnect", reconnect.verdict, reconnect.detail);

    put("frames", ...checkFrames(all, issued));
  } finally {
    for (const s of sockets) await s.close();
    if (main) await main.close();
  }
  return results;
}

type Judgement = [Verdict, string];

async function checkHealth(options: AgentCheckOptions): Promise<Judgement> {
  const url = `${options.baseUrl.replace(/\/+$/, "")}/health`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(options.handshakeTimeoutMs) });
    const body = await res.text();
    if (res.status !== 200) return ["fail", `GET ${url} answered HTTP ${res.status}, expected 200`];
    try {
      const json: unknown = JSON.parse(body);
      if (typeof json !== "object" || json === null || Array.isArray(json)) return ["fail", `GET ${url}: the body is JSON but not an object`];
    } catch {
      return ["fail", `GET ${url}: the body is not JSON: ${body.slice(0, 80)}`];
    }
    return ["pass", `GET ${url} → 200 ${body.slice(0, 120)}`];
  } catch (err) {
    // undici hides the reason (ECONNREFUSED, …) in `cause`.
    const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : "";
    return ["fail", `GET ${url} failed: ${err instanceof Error ? err.message : String(err)}${cause}`];
  }
}

async function checkAuth(
  options: AgentCheckOptions,
  connectOptions: (extra?: Partial<ConnectOptions>) => ConnectOptions,
  record: (r: Received) => void,
  handshakeOk: boolean,
): Promise<Judgement> {
  if (options.token === undefined) {
    return ["skip", handshakeOk ? "no token configured (--token or AGENT_TOKEN); the agent accepts connections without one" : "no token configured (--token or AGENT_TOKEN)"];
  }
  const { token: _token, ...anonymous } = connectOptions();
  for (const [what, attempt] of [
    ["without a token", anonymous],
    ["with a wrong token", connectOptions({ token: `${options.token}-wrong` })],
  ] as const) {
    const result = await connect(attempt, record);
    if (result.socket) await result.socket.close();
    if (result.ok || result.status === undefined) {
      return ["fail", `an upgrade ${what} was not refused with HTTP 401 (${result.ok ? "the agent said hello" : result.why})`];
    }
    if (result.status !== 401) return ["fail", `an upgrade ${what} got HTTP ${result.status}, expected 401`];
  }
  return handshakeOk ? ["pass", "no token and a wrong token are refused with 401; the right one is accepted"] : ["fail", "wrong tokens are refused, but the right one did not complete a handshake"];
}

/** A surface hello of the next protocol: the agent should say what it speaks and close with 4001. */
async function checkVersion(
  connectOptions: (extra?: Partial<ConnectOptions>) => ConnectOptions,
  record: (r: Received) => void,
  sockets: ProbeSocket[],
): Promise<Judgement> {
  const future = PROTOCOL_VERSION + 1;
  const options = connectOptions({ protocol: future });
  const result = await connect(options, record);
  const socket = result.socket;
  if (!socket) return ["fail", `not run: ${result.ok ? "" : result.why}`];
  sockets.push(socket);
  const closed = await socket.waitClosed(options.timeoutMs);
  const hello = result.ok ? result.hello : undefined;
  if (!closed) return ["fail", `the agent accepted a surface hello with protocol ${future} and kept the socket open; it must close with 4001`];
  if (closed.code !== 4001) return ["fail", `after a protocol ${future} hello the agent closed with ${closed.code}, expected 4001 (protocol mismatch)`];
  if (!hello) return ["pass", `closed with 4001 on protocol ${future} (warning: send your own hello first, so the surface can log what you speak)`];
  return ["pass", `on protocol ${future} the agent said it speaks ${hello.protocol} and closed with 4001`];
}

async function checkCancel(options: AgentCheckOptions, t: Turn, socket: ProbeSocket): Promise<Judgement> {
  // Cancel once the turn is visibly running (its first frame), or after a moment if it streams nothing yet.
  await t.until(() => t.frameCount > 0, Math.min(2000, options.turnTimeoutMs));
  if (t.ended) {
    const outcome = await t.finish(0, options.settleMs);
    const problem = turnProblem(outcome, options.turnTimeoutMs);
    return problem ? ["fail", problem] : ["pass", "the turn ended before cancel could be sent (use a --long-prompt that streams longer to exercise cancel)"];
  }
  const sentAt = Date.now();
  socket.send({ type: "cancel", request_id: t.requestId });
  const outcome = await t.finish(options.cancelBoundMs, options.settleMs);
  if (outcome.closed) return ["fail", `the socket closed (${outcome.closed.code}) after cancel`];
  if (outcome.terminals.length === 0) return ["fail", `no end within ${options.cancelBoundMs} ms of cancel`];
  if (outcome.terminals[0] !== "end") return ["fail", `the cancelled turn finished with ${outcome.terminals[0]}; finish it with end`];
  const problem = turnProblem(outcome, options.cancelBoundMs);
  if (problem) return ["fail", problem];
  const latency = t.startedAt + (outcome.endMs ?? 0) - sentAt;
  // Again, now for a finished turn: it must be ignored, not break the connection.
  socket.send({ type: "cancel", request_id: t.requestId });
  const closed = await socket.waitClosed(options.settleMs);
  if (closed) return ["fail", `a cancel for a finished turn closed the socket (${closed.code}); ignore it`];
  return ["pass", `end ${latency} ms after cancel (bound ${options.cancelBoundMs} ms); a late cancel was ignored`];
}

async function checkFiles(all: Received[], workspace: string | undefined): Promise<Judgement> {
  const paths = all.flatMap((r) => (r.parsed.ok && r.parsed.frame.type === "file" ? [r.parsed.frame.path] : []));
  for (const path of paths) {
    const problem = await filePathProblem(path, workspace);
    if (problem) return ["fail", `file path ${JSON.stringify(path)} ${problem}`];
  }
  const how = workspace !== undefined ? `exist inside ${workspace}` : "are inside the workspace (lexically; pass --workspace to check on disk)";
  return ["pass", `${paths.length} file frame path(s) ${how}: ${paths.slice(0, 3).join(", ")}`];
}

/**
 * Drops the main socket mid-turn without a close handshake, connects again
 * and runs a turn; frames of the dropped turn must not show up on the new socket.
 */
async function checkReconnect(
  options: AgentCheckOptions,
  main: ProbeSocket | undefined,
  connectOptions: () => ConnectOptions,
  record: (r: Received) => void,
  turn: (socket: ProbeSocket, chatId: string, text: string) => Turn,
  sockets: ProbeSocket[],
): Promise<{ verdict: Verdict; detail: string; socket: ProbeSocket | undefined }> {
  if (!main?.open) return { verdict: "fail", detail: main ? "not run: the connection closed earlier" : "not run: no handshake", socket: main };
  const dropped = turn(main, "agent-check-7", options.longPrompt);
  await dropped.until(() => dropped.frameCount > 0, Math.min(2000, options.turnTimeoutMs));
  main.terminate();
  await main.waitClosed(1000);
  const again = await connect(connectOptions(), record);
  if (again.socket) sockets.push(again.socket);
  if (!again.ok) return { verdict: "fail", detail: `after the surface dropped the socket, reconnecting failed: ${again.why}`, socket: undefined };
  const ghosts: string[] = [];
  const stop = again.socket.listen((r) => {
    if (r.parsed.ok && "request_id" in r.parsed.frame && r.parsed.frame.request_id === dropped.requestId) ghosts.push(r.parsed.frame.type);
  });
  const outcome = await turn(again.socket, "agent-check-8", options.prompt).finish(options.turnTimeoutMs, options.settleMs);
  stop();
  const problem = turnProblem(outcome, options.turnTimeoutMs);
  if (problem) return { verdict: "fail", detail: `a turn on the new connection: ${problem}`, socket: again.socket };
  if (ghosts.length > 0) return { verdict: "fail", detail: `frames of a turn of the dropped connection arrived on the new one (${ghosts.join(", ")}); abandon turns of a closed socket`, socket: again.socket };
  return { verdict: "pass", detail: "after an abrupt drop mid-turn, a new connection shook hands and ran a turn", socket: again.socket };
}

/** Every frame of the run: valid against the schema, within the size limit, for a turn we started. */
function checkFrames(all: Received[], issued: ReadonlySet<string>): Judgement {
  if (all.length === 0) return ["fail", "not run: no frame received"];
  const problems: string[] = [];
  let hellos = new Map<number, number>();
  for (const r of all) {
    if (!r.parsed.ok) {
      problems.push(r.bytes > MAX_FRAME_BYTES ? `a ${r.bytes}-byte frame (limit ${MAX_FRAME_BYTES})` : r.parsed.reason);
      continue;
    }
    const frame = r.parsed.frame;
    if (frame.type === "hello") {
      hellos = hellos.set(r.socket, (hellos.get(r.socket) ?? 0) + 1);
      if ((hellos.get(r.socket) ?? 0) > 1) problems.push("a second hello on one connection");
    } else if ("request_id" in frame && frame.request_id !== undefined && !issued.has(frame.request_id)) {
      problems.push(`a ${frame.type} frame for unknown request_id ${JSON.stringify(frame.request_id)}`);
    }
  }
  if (problems.length === 0) return ["pass", `${all.length} frames, all valid against the protocol v${PROTOCOL_VERSION} schema and at most ${MAX_FRAME_BYTES} bytes`];
  const more = problems.length > 3 ? ` (+${problems.length - 3} more)` : "";
  return ["fail", `${problems.length} bad frame(s) of ${all.length}: ${problems.slice(0, 3).join("; ")}${more}`];
}
