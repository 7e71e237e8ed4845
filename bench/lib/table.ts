/** The results as a Markdown table (also readable in a terminal). */
import type { Row } from "./report.js";

export function renderTable(rows: readonly Row[]): string {
  const head = ["bench", "metric", "value", "baseline (same run)", "ratio", "target", "met"];
  const body = rows.map((r) => [r.bench, r.metric, r.value, r.baseline, r.ratio, r.target, r.met === undefined ? "" : r.met ? "yes" : "**no**"]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}
