/**
 * A token bucket over one agent connection's frames: `perSecond` on average,
 * bursts up to one second's worth. Cheap enough to ask for every frame.
 */
export class FrameBudget {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.tokens = perSecond;
    this.last = now();
  }

  /** Takes one frame's token; false when the connection is over its rate. */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((t - this.last) * this.perSecond) / 1000);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
