/**
 * Reads the bot's configuration from the environment and validates all of
 * it before any login, so a bad deployment fails at once with every problem
 * named (config key and env var), not one at a time.
 */
import path from "node:path";
import dotenv from "dotenv";
import type { z } from "zod";
import { CONFIG_KEYS, configSchema, envName, type ConfigKey } from "./env-schema.js";

export type { HttpAddr, LogLevel } from "./env-schema.js";

/** The validated settings (env-schema.ts is the one list). */
export type AppConfig = Readonly<z.output<typeof configSchema>>;

/** Keys whose values must never reach a log line. */
export const SECRET_CONFIG_KEYS = ["accessToken", "password", "recoveryKey"] as const satisfies readonly (keyof AppConfig)[];

export interface ConfigProblem {
  readonly key: string;
  readonly envVar: string;
  readonly message: string;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly ConfigProblem[]) {
    const n = problems.length;
    super(
      `Invalid configuration (${n} problem${n === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p.key} (${p.envVar}): ${p.message}`).join("\n"),
    );
  }
}

/** Loads `.env` (default: ./.env) into process.env without overriding what is already set. A missing file is fine. */
export function loadDotenv(file?: string): void {
  dotenv.config({ path: file ?? path.resolve(".env"), quiet: true, override: false });
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  // Blank values (`FOO=` in a .env file) mean "unset", so defaults apply.
  const raw: Partial<Record<ConfigKey, string>> = {};
  for (const key of CONFIG_KEYS) {
    const v = env[envName(key)]?.trim();
    if (v) raw[key] = v;
  }

  const problems: ConfigProblem[] = [];
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = String(issue.path[0]);
      problems.push({ key, envVar: envName(key), message: issue.message });
    }
  }
  // Checked outside zod: object-level refinements do not run while fields fail.
  const hasToken = raw.accessToken !== undefined;
  const hasPassword = raw.password !== undefined;
  if (hasToken === hasPassword) {
    problems.push({
      key: "accessToken/password",
      envVar: "SURFACES_ACCESS_TOKEN / SURFACES_PASSWORD",
      message: hasToken
        ? "both are set; set exactly one (the access token, or the password to log in with)"
        : "neither is set; set exactly one (the access token, or the password to log in with)",
    });
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return Object.freeze(result.data);
}

type SecretKey = (typeof SECRET_CONFIG_KEYS)[number];
export type RedactedConfig = Omit<AppConfig, SecretKey> & { readonly [K in SecretKey]?: "[redacted]" };

/** A copy safe to log: every secret that is set becomes "[redacted]". */
export function redactConfig(cfg: AppConfig): RedactedConfig {
  const copy: Record<string, unknown> = { ...cfg };
  for (const key of SECRET_CONFIG_KEYS) {
    if (copy[key] !== undefined) copy[key] = "[redacted]";
  }
  return copy as RedactedConfig;
}
