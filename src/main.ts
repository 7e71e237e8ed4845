#!/usr/bin/env node
/**
 * The `surfaces` command. `main` only reads configuration and handles
 * signals; `start()` in app.ts builds everything.
 *   surfaces [bot]      run the bot (configuration from the environment / .env)
 *   surfaces agent      run the reference agent
 *   surfaces stack      local stack: Synapse + reference agent + bot, prints a demo login
 *   surfaces reset      operator reset of the bot's state (see docs)
 *   surfaces agent-check <base_url>   check an agent against protocol v1 (docs/agent-protocol.md)
 *   surfaces protocol-schema          write (or --check) schema/agent-protocol-v1.json
 */
import { start } from "./app.js";
import { ConfigError, loadConfig, loadDotenv } from "./config/env.js";
import { RegistryError } from "./config/registry.js";
import { LoginRejectedError } from "./matrix/session.js";
import { createLogger } from "./logger.js";
import { onSignals } from "./main-signals.js";

async function runBot(): Promise<void> {
  loadDotenv();
  const config = loadConfig();
  const app = await start(config);
  onSignals(async () => app.stop());
}

async function main(argv: string[]): Promise<void> {
  const [command = "bot", ...rest] = argv;
  switch (command) {
    case "bot":
      return runBot();
    case "agent": {
      const { runReferenceAgentCli } = await import("./reference-agent/cli.js");
      // Its settings errors (bad port, llm mode without a provider) are the operator's: one line.
      const agent = await runReferenceAgentCli(rest, process.env).catch((err: unknown) => {
        throw new UsageError(`agent: ${err instanceof Error ? err.message : String(err)}`);
      });
      onSignals(async () => agent.close());
      return;
    }
    case "stack": {
      const { runStack } = await import("./cli/stack.js");
      return runStack(rest);
    }
    case "reset": {
      const { runReset } = await import("./cli/reset.js");
      process.exitCode = await runReset(rest);
      return;
    }
    case "agent-check": {
      const { runAgentCheckCli } = await import("./cli/agent-check.js");
      process.exitCode = await runAgentCheckCli(rest, process.env);
      return;
    }
    case "protocol-schema": {
      const { runProtocolSchema } = await import("./cli/protocol-schema.js");
      process.exitCode = runProtocolSchema(rest);
      return;
    }
    default:
      throw new UsageError(`unknown command "${command}" (expected bot, agent, stack, reset, agent-check or protocol-schema)`);
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((err: unknown) => {
  // Configuration problems are the operator's to fix: one clear message, no stack trace.
  if (err instanceof ConfigError || err instanceof RegistryError || err instanceof UsageError || err instanceof LoginRejectedError) {
    process.stderr.write(`surfaces: ${err.message}\n`);
  } else {
    createLogger("error").fatal({ err }, "surfaces stopped on an unexpected error");
  }
  process.exit(1);
});
