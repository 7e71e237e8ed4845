/**
 * A child process for the crypto-store test: starts the Rust crypto on the
 * data directory given as argv[2], prints its device keys as one JSON line,
 * then idles until killed (the test SIGKILLs it: nothing gets to flush).
 */
import { createClient } from "matrix-js-sdk";
import pino from "pino";
import { initCrypto } from "../../src/matrix/crypto-store.js";
import { sdkLogger } from "../../src/matrix/sdk-logger.js";
import { openStore } from "../../src/store/index.js";

const dataDir = process.argv[2] ?? "";
const logger = pino({ level: "silent" });
const store = openStore(`${dataDir}/surfaces.db`);
const kv = { get: (k: string) => store.kv.get(k) ?? undefined, set: (k: string, v: string) => store.kv.set(k, v) };
// Nothing listens there: the crypto starts without a homeserver.
const client = createClient({ baseUrl: "http://127.0.0.1:9", userId: "@bot:example.org", deviceId: "BOTDEVICE", accessToken: "x", logger: sdkLogger(logger) });
await initCrypto(client, { dataDir, kv, logger });
const keys = await client.getCrypto()!.getOwnDeviceKeys();
process.stdout.write(`KEYS ${JSON.stringify(keys)}\n`);
setInterval(() => undefined, 60_000);
