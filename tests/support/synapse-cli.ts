/**
 * Manual use: a throwaway (or persistent) Synapse in the foreground.
 *   bash scripts/run.sh tsx tests/support/synapse-cli.ts start [--dir DIR] [--port N] [--default-rate-limits] [--topology sqlite|postgres|workers]
 * Prints the base URL, shared secret and admin token; Ctrl-C stops it.
 */
import { parseArgs } from "node:util";
import { parseTopology, startSynapse } from "../../src/dev/synapse.js";

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      dir: { type: "string" },
      port: { type: "string" },
      "default-rate-limits": { type: "boolean", default: false },
      topology: { type: "string" },
    },
  });
  if (positionals[0] !== "start") {
    process.stderr.write("usage: synapse-cli.ts start [--dir DIR] [--port N] [--default-rate-limits] [--topology sqlite|postgres|workers]\n");
    process.exit(2);
  }
  const hs = await startSynapse({
    dir: values.dir,
    port: values.port === undefined ? undefined : Number(values.port),
    defaultRateLimits: values["default-rate-limits"],
    topology: parseTopology(values.topology),
  });
  process.stdout.write(
    `${JSON.stringify({ baseUrl: hs.baseUrl, topology: hs.topology, database: hs.postgresDatabase, dir: hs.dir, sharedSecret: hs.sharedSecret, adminUserId: hs.adminUserId, adminToken: hs.adminToken }, null, 2)}\n`,
  );
  const shutdown = () => void hs.dispose().then(() => process.exit(0));
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
