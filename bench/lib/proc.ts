/** CPU and memory of another process, read from /proc (Linux only). */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

// USER_HZ is 100 on every Linux the project targets.
const CLOCK_TICKS = 100;

/** utime + stime of `pid` in seconds (children not included). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the ")" that closes the command name; utime/stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * Waits until `pid` stays under `busyShare` of one core for two readings
 * `everyMs` apart (at most `maxMs`); returns how long that took and whether
 * it got there. A homeserver
 * finishes work of its own after a burst (a new device's key upload fans out
 * to every room its user is in): a timed request started before then shares
 * the machine with it.
 */
export async function untilQuiet(pid: number, maxMs = 120_000, everyMs = 500, busyShare = 0.05): Promise<{ ms: number; quiet: boolean }> {
  const t0 = Date.now();
  let quiet = 0;
  let last = cpuSeconds(pid);
  while (quiet < 2 && Date.now() - t0 < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, everyMs));
    const now = cpuSeconds(pid);
    quiet = now - last < (busyShare * everyMs) / 1000 ? quiet + 1 : 0;
    last = now;
  }
  return { ms: Date.now() - t0, quiet: quiet >= 2 };
}

export interface MemoryReading {
  /** Resident set size now, MB. */
  rssMb: number;
  /** Peak resident set size since start or the last resetPeak(), MB. */
  hwmMb: number;
}

export function memory(pid: number): MemoryReading {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
}

/** Resets VmHWM to the current RSS (clear_refs "5"), so a later reading gives the peak of one phase. */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
}

/** Samples VmRSS every `everyMs` as a cross-check of VmHWM; returns the highest MB seen on stop(). */
export function rssSampler(pid: number, everyMs = 20): { stop(): number } {
  let peak = memory(pid).rssMb;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, memory(pid).rssMb);
    } catch {
      // process gone
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

export const cpuModel = (): string =>
  /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown";

/** CPU seconds by pid of every process of one homeserver, split into Synapse and the rest. */
export interface HomeserverCpu {
  synapse: Map<number, number>;
  other: Map<number, number>;
}

function readProc(pid: string): { cmd: string[]; ppid: number } | undefined {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return { cmd, ppid: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) };
  } catch {
    return undefined; // gone meanwhile
  }
}

/**
 * A snapshot of the homeserver's CPU: the Synapse processes (main and
 * workers, found by their config under `dir`), and the rest: Redis and nginx
 * of the worker topology (their command lines name `dir`) with their
 * children, and the PostgreSQL backends serving `database`.
 */
export function homeserverCpu(dir: string, database?: string): HomeserverCpu {
  const procs = new Map<number, { cmd: string[]; ppid: number }>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(name);
    if (p) procs.set(Number(name), p);
  }
  const synapse = new Map<number, number>();
  const other = new Map<number, number>();
  const cpu = (pid: number): number => {
    try {
      return cpuSeconds(pid);
    } catch {
      return 0;
    }
  };
  for (const [pid, p] of procs) {
    const line = p.cmd.join(" ");
    if (!line.includes(dir) && !(database && line.startsWith("postgres:") && line.includes(` ${database} `))) continue;
    (p.cmd.some((a) => a.startsWith("synapse.app.")) ? synapse : other).set(pid, cpu(pid));
  }
  // nginx's worker processes: children of a matched master.
  for (const [pid, p] of procs) if (!synapse.has(pid) && !other.has(pid) && other.has(p.ppid)) other.set(pid, cpu(pid));
  return { synapse, other };
}

/** CPU seconds used between two snapshots (a process that appeared counts from zero). */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, s] of after) sum += s - (before.get(pid) ?? 0);
  return sum;
}

/** Resident MB of `pid` by kind of mapping (glibc's [heap], anonymous mmaps, files, …), from /proc/<pid>/smaps. */
export function residentByMapping(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let kind = "";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1] ?? "";
      kind = name === "" ? "anon" : name.startsWith("[") ? name : name.includes(".so") || name.endsWith("/node") ? "code" : "file";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[kind] = (out[kind] ?? 0) + Number(rss[1]) / 1024;
  }
  return out;
}
