/**
 * The not-yet-posted tail of a streamed answer, kept as the deltas that
 * arrived. Reading the next message's worth never copies the rest of the
 * queue, so a huge tail costs nothing per message and text once posted is
 * gone from memory.
 */
export class TextQueue {
  private chunks: string[] = [];
  /** Index of the first live chunk (dropped ones are compacted away in bulk). */
  private first = 0;
  private units = 0;

  /** Code units waiting. */
  get length(): number {
    return this.units;
  }

  push(text: string): void {
    if (text === "") return;
    this.chunks.push(text);
    this.units += text.length;
  }

  /** Puts text back in front (what a cut left over). */
  unshift(text: string): void {
    if (text === "") return;
    if (this.first > 0) this.chunks[--this.first] = text;
    else this.chunks.unshift(text);
    this.units += text.length;
  }

  /** The first `n` code units (fewer when less is waiting), without removing them. */
  peek(n: number): string {
    let out = "";
    for (let i = this.first; i < this.chunks.length && out.length < n; i++) {
      const chunk = this.chunks[i] as string;
      out += chunk.length <= n - out.length ? chunk : chunk.slice(0, n - out.length);
    }
    return out;
  }

  /** Removes the first `n` code units. */
  drop(n: number): void {
    let left = Math.min(n, this.units);
    this.units -= left;
    while (left > 0) {
      const chunk = this.chunks[this.first] as string;
      if (chunk.length <= left) {
        left -= chunk.length;
        this.chunks[this.first++] = "";
      } else {
        this.chunks[this.first] = chunk.slice(left);
        left = 0;
      }
    }
    if (this.first > 1024 && this.first * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }

  clear(): void {
    this.chunks = [];
    this.first = 0;
    this.units = 0;
  }
}
