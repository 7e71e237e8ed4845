/**
 * `surfaces agent`: runs the reference agent from flags and environment.
 * Flags win over environment variables. The token is read from AGENT_TOKEN
 * only, never from argv, so it does not show in `ps`.
 */
import { pino, type Logger } from "pino";
import type { ProviderConfig } from "./llm-stream.js";
import { startReferenceAgent, type ReferenceAgent, type ReferenceAgentMode } from "./server.js";

export interface ReferenceAgentCliConfig {
  port: number;
  host: string;
  workspace: string;
  token?: string;
  mode: ReferenceAgentMode;
  /** `llm` mode only: from PROVIDER_URL, PROVIDER_MODEL and (secret, env only) PROVIDER_API_KEY. */
  provider?: ProviderConfig;
}

const FLAGS = ["port", "host", "workspace", "mode"] as const;
type Flag = (typeof FLAGS)[number];

/** Parses `--port 8080`, `--port=8080`, … Throws with a clear message on bad input. */
export function parseReferenceAgentArgs(argv: readonly string[], env: NodeJS.ProcessEnv): ReferenceAgentCliConfig {
  const flags: Partial<Record<Flag, string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const match = /^--([a-z]+)(?:=(.*))?$/.exec(arg);
    const name = FLAGS.find((f) => f === match?.[1]);
    if (!match || name === undefined) throw new Error(`unknown argument "${arg}" (expected --port, --host, --workspace, --mode)`);
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    flags[name] = value;
  }
  const portText = flags.port ?? env.AGENT_PORT ?? "8080";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new Error(`invalid port "${portText}" (--port / AGENT_PORT)`);
  const mode = flags.mode ?? env.AGENT_MODE ?? "scripted";
  if (mode !== "scripted" && mode !== "llm") throw new Error(`invalid mode "${mode}" (--mode / AGENT_MODE: scripted or llm)`);
  const token = env.AGENT_TOKEN;
  const provider = mode === "llm" ? providerFromEnv(env) : undefined;
  return {
    port,
    host: flags.host ?? env.AGENT_HOST ?? "127.0.0.1",
    workspace: flags.workspace ?? env.AGENT_WORKSPACE ?? "/workspace",
    mode,
    ...(token !== undefined && token !== "" && { token }),
    ...(provider && { provider }),
  };
}

function providerFromEnv(env: NodeJS.ProcessEnv): ProviderConfig {
  const url = env.PROVIDER_URL?.trim();
  const model = env.PROVIDER_MODEL?.trim();
  const missing = [!url && "PROVIDER_URL", !model && "PROVIDER_MODEL"].filter(Boolean);
  if (!url || !model) throw new Error(`mode "llm" needs ${missing.join(" and ")} (PROVIDER_API_KEY is optional)`);
  if (!/^https?:\/\//.test(url)) throw new Error(`invalid PROVIDER_URL "${url}" (expected http:// or https://)`);
  const apiKey = env.PROVIDER_API_KEY?.trim();
  return { url, model, ...(apiKey && { apiKey }) };
}

/** Starts the reference agent; the caller owns signals and calls `close()`. */
export async function runReferenceAgentCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  logger: Logger = pino({ level: env.LOG_LEVEL ?? "info" }),
): Promise<ReferenceAgent> {
  const config = parseReferenceAgentArgs(argv, env);
  return startReferenceAgent({ ...config, logger });
}
