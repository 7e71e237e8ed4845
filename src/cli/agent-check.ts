/**
 * `surfaces agent-check <base_url> [flags]` (npm run agent-check -- <url>):
 * checks an agent against protocol v1 and prints one line per rule and a
 * summary. Exit 0 when nothing failed, 1 when a rule failed, 2 on bad usage.
 * The token comes from --token or AGENT_TOKEN (prefer the variable: argv shows in `ps`).
 */
import { DEFAULT_CHECK_OPTIONS, RULES, runAgentCheck, type AgentCheckOptions, type RuleResult } from "../agent-check/check.js";

const USAGE = `usage: surfaces agent-check <base_url> [--token T] [--workspace DIR] [--prompt TEXT] [--long-prompt TEXT]
       [--file-prompt TEXT] [--turn-timeout-ms N] [--cancel-bound-ms N] [--handshake-timeout-ms N] [--settle-ms N]
  base_url   the agent's base URL as in the registry, e.g. http://127.0.0.1:8080 (the socket is {base_url}/agent_ws/)
  AGENT_TOKEN (env) or --token: the bearer token the agent expects; wrong and missing tokens must then get 401
`;

const TEXT_FLAGS = { token: "token", workspace: "workspace", prompt: "prompt", "long-prompt": "longPrompt", "file-prompt": "filePrompt" } as const;
const MS_FLAGS = {
  "turn-timeout-ms": "turnTimeoutMs",
  "cancel-bound-ms": "cancelBoundMs",
  "handshake-timeout-ms": "handshakeTimeoutMs",
  "settle-ms": "settleMs",
} as const;

/** Parses argv; throws an Error whose message is the reason for bad usage. */
export function parseAgentCheckArgs(argv: readonly string[], env: NodeJS.ProcessEnv): AgentCheckOptions {
  const options: Partial<AgentCheckOptions> = { ...DEFAULT_CHECK_OPTIONS };
  const token = env.AGENT_TOKEN;
  if (token !== undefined && token !== "") options.token = token;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!match) {
      if (options.baseUrl !== undefined) throw new Error(`unexpected argument "${arg}"`);
      options.baseUrl = arg;
      continue;
    }
    const name = match[1] ?? "";
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    if (name in TEXT_FLAGS) {
      options[TEXT_FLAGS[name as keyof typeof TEXT_FLAGS]] = value;
    } else if (name in MS_FLAGS) {
      if (!/^\d+$/.test(value)) throw new Error(`--${name} needs a number of milliseconds, got "${value}"`);
      options[MS_FLAGS[name as keyof typeof MS_FLAGS]] = Number(value);
    } else {
      throw new Error(`unknown flag --${name}`);
    }
  }
  if (options.baseUrl === undefined) throw new Error("the agent's base_url is missing");
  if (!/^(https?|wss?):\/\//.test(options.baseUrl)) throw new Error(`base_url must start with http(s):// or ws(s)://, got "${options.baseUrl}"`);
  return options as AgentCheckOptions;
}

export const formatResult = (r: RuleResult): string => `${r.verdict.toUpperCase().padEnd(4)}  ${r.rule.padEnd(14)}  ${r.detail}`;

export function summarise(results: readonly RuleResult[]): string {
  const count = (v: RuleResult["verdict"]): number => results.filter((r) => r.verdict === v).length;
  const failed = count("fail");
  return `agent-check: ${count("pass")} passed, ${failed} failed, ${count("skip")} skipped of ${RULES.length} rules — ${failed === 0 ? "OK" : "FAILED"}`;
}

export async function runAgentCheckCli(argv: readonly string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  let options: AgentCheckOptions;
  try {
    options = parseAgentCheckArgs(argv, env);
  } catch (err) {
    out.write(`agent-check: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  out.write(`agent-check: ${options.baseUrl} against agent protocol v1 (docs/agent-protocol.md)\n`);
  const results = await runAgentCheck(options, (r) => void out.write(`${formatResult(r)}\n`));
  out.write(`${summarise(results)}\n`);
  return results.some((r) => r.verdict === "fail") ? 1 : 0;
}
