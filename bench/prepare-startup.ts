/**
 * Fills a kept Synapse (BENCH_STARTUP_SYNAPSE_DIR) with the start-up bench's
 * rooms ahead of time: `BENCH_STARTUP_SYNAPSE_DIR=… BENCH_STARTUP_ROOMS=1000,5000,10000
 * tsx bench/prepare-startup.ts`. Creating 10,000 rooms takes Synapse tens of
 * minutes; the bench then only tops up what is missing.
 */
import { prepareStartupRooms } from "./startup.js";

await prepareStartupRooms();
process.exit(0);
