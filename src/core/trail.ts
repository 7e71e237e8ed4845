/**
 * The trail of a turn: which tools the agent ran and how each ended, kept
 * for the final answer (the status line only shows the latest while the
 * turn runs). Bounded: the newest `maxTools` calls are kept, older ones are
 * counted.
 */
export interface TrailEntry {
  callId: string;
  name: string;
  /** null while the tool runs (or when the agent never reported its result). */
  ok: boolean | null;
  summary?: string;
}

export interface TrailView {
  entries: readonly TrailEntry[];
  /** Calls older than the kept ones. */
  dropped: number;
}

export class ToolTrail {
  private readonly entries: TrailEntry[] = [];
  private dropped = 0;

  constructor(private readonly maxTools: number) {}

  call(callId: string, name: string): void {
    this.entries.push({ callId, name, ok: null });
    if (this.entries.length > this.maxTools) {
      this.entries.shift();
      this.dropped++;
    }
  }

  /** A result for a call no longer kept (or never seen) changes nothing. */
  result(callId: string, ok: boolean, summary?: string): void {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i] as TrailEntry;
      if (entry.callId !== callId) continue;
      entry.ok = ok;
      if (summary !== undefined) entry.summary = summary;
      return;
    }
  }

  isEmpty(): boolean {
    return this.entries.length === 0;
  }

  view(): TrailView {
    return { entries: this.entries.map((e) => ({ ...e })), dropped: this.dropped };
  }
}
