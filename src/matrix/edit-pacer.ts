/**
 * How long to wait between edits of a streamed answer. Starts at the
 * configured pace, slows down to what a 429's `retry_after_ms` demands, and
 * drifts back to the base pace as sends succeed again.
 */
export class EditPacer {
  private current: number;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs = 30_000,
  ) {
    this.current = baseMs;
  }

  intervalMs(): number {
    return this.current;
  }

  onRateLimited(retryAfterMs: number): void {
    this.current = Math.min(this.maxMs, Math.max(this.current * 2, retryAfterMs));
  }

  onSuccess(): void {
    this.current = Math.max(this.baseMs, Math.round(this.current * 0.8));
  }
}
