/** Reading the bot child's trace (see bot-child.ts). */
import type { TraceEntry } from "./bot-child.js";
import type { ChildHandle } from "./child.js";

export type { TraceEntry };

export async function fetchTrace(bot: ChildHandle): Promise<TraceEntry[]> {
  return (await bot.ask<{ trace: TraceEntry[] }>("trace")).trace;
}

export type Of<K extends TraceEntry["k"]> = Extract<TraceEntry, { k: K }>;

export const entries = <K extends TraceEntry["k"]>(trace: readonly TraceEntry[], k: K): Of<K>[] =>
  trace.filter((e): e is Of<K> => e.k === k);
