/**
 * Synapse's access log (BENCH_ACCESS_LOG=1) read between two marks: CPU time
 * and count per requester and request kind. Synapse logs each request's own
 * utime+stime; work it hands to background processes (event persistence,
 * push actions) is not in it, so the sum stays below the process's CPU.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { requestKind } from "./request-count.js";

export interface RequestCost {
  count: number;
  cpuMs: number;
}

/** Byte offset of the log's end: the mark a later `costsSince` reads from. */
export const logMark = (file: string): number => statSync(file).size;

// ... - {@u000:localhost} Processed request: 0.012sec/0.000sec ru=(0.008sec, 0.001sec) db=(…) 59B 200 "PUT /_matrix/… HTTP/1.1" …
const LINE = /\{(@[^:}]+):[^}]*\} Processed request: [-\d.]+sec\/[-\d.]+sec (?:ru=)?\(([\d.]+)sec, ([\d.]+)sec\).*? "(\w+) (\S+) HTTP/;

/** Costs keyed "<who> <kind>", `who` named by `role` from the requester's localpart. */
export function costsSince(file: string, from: number, role: (localpart: string) => string): Map<string, RequestCost> {
  const size = statSync(file).size;
  const buf = Buffer.alloc(Math.max(0, size - from));
  const fd = openSync(file, "r");
  try {
    readSync(fd, buf, 0, buf.length, from);
  } finally {
    closeSync(fd);
  }
  const out = new Map<string, RequestCost>();
  for (const line of buf.toString("utf8").split("\n")) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, who, utime, stime, method, uri] = m as unknown as [string, string, string, string, string, string];
    const key = `${role(who.slice(1))} ${requestKind(method, `http://x${uri}`)}`;
    const c = out.get(key) ?? { count: 0, cpuMs: 0 };
    c.count += 1;
    c.cpuMs += (Number(utime) + Number(stime)) * 1000;
    out.set(key, c);
  }
  return out;
}
