import MarkdownIt from "markdown-it";
import sanitizeHtml from "sanitize-html";
import type { Block } from "../core/agent-port.js";

// html:false keeps raw HTML in agent or user text as literal text; the
// sanitiser below is the second line of defence for what markdown-it emits.
const md = new MarkdownIt({ html: false, linkify: true, breaks: false });

/** Tags and attributes from the Matrix spec's recommended HTML subset. */
const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [
    "font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol", "sup", "sub",
    "li", "b", "i", "u", "strong", "em", "s", "code", "hr", "br", "div", "table", "thead", "tbody", "tr",
    "th", "td", "caption", "pre", "span", "details", "summary",
  ],
  allowedAttributes: {
    a: ["href", "title"],
    ol: ["start"],
    code: ["class"],
    span: ["data-mx-color", "data-mx-bg-color"],
    font: ["data-mx-color", "data-mx-bg-color", "color"],
  },
  allowedSchemes: ["http", "https", "ftp", "mailto", "magnet", "matrix", "mxc"],
  allowedClasses: { code: [/^language-[\w+-]+$/u] },
};

export interface Rendered {
  body: string;
  html: string | undefined;
}

/**
 * Text in which Markdown finds nothing to format: no character that starts
 * inline syntax, an entity or a line break, no block marker or indent at the
 * start, nothing linkify would turn into a link. markdown-it would render it
 * as one escaped paragraph; most chat answers are such text, and parsing
 * them was most of an answer's rendering cost.
 */
const INLINE_SYNTAX = /[\\`*_[\]<>&~|\n\r\0]/u;
const BLOCK_START = /^[\s#>+\-=\d]/u;
/** markdown-it links a scheme's URL wherever it starts, even inside a word. */
const SCHEME = /(?:https?|ftp|mailto):|\/\//iu;
/** Underscores between letters or digits never open or close emphasis (snake_case, ids). */
const INTRAWORD_UNDERSCORES = /(?<=[\p{L}\p{N}])_+(?=[\p{L}\p{N}])/gu;
export const needsMarkdown = (text: string): boolean =>
  text === "" ||
  INLINE_SYNTAX.test(text.includes("_") ? text.replace(INTRAWORD_UNDERSCORES, "") : text) ||
  BLOCK_START.test(text) ||
  /\s$/u.test(text) ||
  SCHEME.test(text) ||
  md.linkify.test(text);

/** Markdown → sanitised HTML plus the plain Markdown as `body`. */
export function renderMarkdown(markdown: string): Rendered {
  if (!needsMarkdown(markdown)) return { body: markdown, html: undefined };
  const rendered = md.render(markdown).trim();
  // Plain one-paragraph text needs no formatted_body. Checked before
  // sanitising: markdown-it's own output for plain text is that one escaped
  // paragraph, with nothing to sanitise (half the cost of a plain answer).
  const plain = `<p>${escapeHtml(markdown.trim())}</p>`;
  if (rendered === plain) return { body: markdown, html: undefined };
  const html = sanitizeHtml(rendered, SANITIZE).trim();
  return { body: markdown, html: html === plain ? undefined : html };
}

/** Markdown → sanitised HTML, even for plain text (to append other HTML to). */
export const markdownHtml = (markdown: string): string => sanitizeHtml(md.render(markdown), SANITIZE).trim();

export const sanitize = (html: string): string => sanitizeHtml(html, SANITIZE);

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A `block` frame as Markdown, so the stream and its body stay one text. */
export function blockToMarkdown(block: Block): string {
  if (block.kind === "code") {
    const fence = block.code.includes("```") ? "~~~~" : "```";
    return `\n\n${fence}${block.language ?? ""}\n${block.code}\n${fence}\n\n`;
  }
  const cell = (s: string): string => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const head = `| ${block.headers.map(cell).join(" | ")} |`;
  const rule = `| ${block.headers.map(() => "---").join(" | ")} |`;
  const rows = block.rows.map((r) => `| ${r.map(cell).join(" | ")} |`);
  return `\n\n${[head, rule, ...rows].join("\n")}\n\n`;
}
