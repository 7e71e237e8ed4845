/** CPU and memory of another process, read from /proc (Linux only). */
import { readFileSync, writeFileSync } from "node:fs";

// USER_HZ is 100 on every Linux the project targets.
const CLOCK_TICKS = 100;

/** utime + stime of `pid` in seconds (children not included). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the ")" that closes the command name; utime/stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
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
