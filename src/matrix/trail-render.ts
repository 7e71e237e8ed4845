/**
 * A turn's tool trail under the final answer: a collapsed `<details>` block
 * in `formatted_body`, and the same lines in plain text at the end of `body`
 * (clients without HTML, notifications, search). Bounded in bytes so a
 * trail cannot push an answer's event past the homeserver's size limit.
 */
import type { TrailEntry, TrailView } from "../core/trail.js";
import type { MessageContent } from "./message-content.js";
import { escapeHtml, markdownHtml } from "./render.js";

/** Most UTF-8 bytes the trail's plain text may take (the HTML is about twice that). */
export const TRAIL_MAX_BYTES = 2_000;
const MAX_NAME = 64;
const MAX_SUMMARY = 120;

const clip = (s: string, max: number): string => {
  const flat = s.replace(/\s+/gu, " ").trim();
  const points = [...flat];
  return points.length > max ? `${points.slice(0, max - 1).join("")}…` : flat;
};

const mark = (e: TrailEntry): string => (e.ok === null ? "⏳" : e.ok ? "✅" : "❌");

function line(e: TrailEntry): { text: string; html: string } {
  const name = clip(e.name, MAX_NAME);
  const summary = e.summary ? clip(e.summary, MAX_SUMMARY) : "";
  return {
    text: `${mark(e)} ${name}${summary ? ` — ${summary}` : ""}`,
    html: `<li>${mark(e)} <code>${escapeHtml(name)}</code>${summary ? ` — ${escapeHtml(summary)}` : ""}</li>`,
  };
}

/** The trail's heading: how many tools ran. */
export const trailTitle = (count: number): string => (count === 1 ? "🔧 1 tool call" : `🔧 ${count} tool calls`);

/** The plain and HTML forms of a trail, newest calls kept within the byte bound; null when empty. */
export function renderTrail(view: TrailView): { text: string; html: string } | null {
  if (view.entries.length === 0) return null;
  const lines = view.entries.map(line);
  let dropped = view.dropped;
  const size = (): number => lines.reduce((n, l) => n + Buffer.byteLength(l.text, "utf8") + 1, 0);
  while (lines.length > 1 && size() > TRAIL_MAX_BYTES) {
    lines.shift();
    dropped++;
  }
  const total = lines.length + dropped;
  const earlier = dropped > 0 ? `(${dropped} earlier not shown)` : null;
  const text = [`${trailTitle(total)}:`, ...(earlier ? [earlier] : []), ...lines.map((l) => l.text)].join("\n");
  const html =
    `<details><summary>${trailTitle(total)}</summary>` +
    (earlier ? `<p>${earlier}</p>` : "") +
    `<ul>${lines.map((l) => l.html).join("")}</ul></details>`;
  return { text, html };
}

/** `content` (the rendering of `markdown`) with the trail appended to both forms. */
export function withTrail(content: MessageContent, markdown: string, view: TrailView): MessageContent {
  const trail = renderTrail(view);
  if (!trail) return content;
  return {
    ...content,
    body: `${content.body}\n\n${trail.text}`,
    format: "org.matrix.custom.html",
    formatted_body: `${content.formatted_body ?? markdownHtml(markdown)}${trail.html}`,
  };
}
