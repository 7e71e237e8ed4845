/** One line of the results table, and the shared state every benchmark gets. */
import type { ChildHandle } from "./child.js";
import type { Cs, SyncLoop } from "./cs-api.js";
import type { BenchWorld } from "./setup.js";

export interface Row {
  bench: string;
  metric: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  /** true / false against the target; undefined when the row has no target. */
  met?: boolean;
}

export interface BenchContext {
  world: BenchWorld;
  alice: Cs;
  aliceSync: SyncLoop;
  bot: Cs;
  echo: Cs;
  botChild: ChildHandle;
  echoChild: ChildHandle;
  rooms: { relay: string; floor: string; stream: string; files: string; scratch: string };
}

export const envInt = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

export const log = (msg: string): void => void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
