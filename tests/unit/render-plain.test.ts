import fc from "fast-check";
import MarkdownIt from "markdown-it";
import { describe, expect, it } from "vitest";
import { escapeHtml, needsMarkdown, renderMarkdown } from "../../src/matrix/render.js";

// The renderer's own settings: what markdown-it would make of the text.
const md = new MarkdownIt({ html: false, linkify: true, breaks: false });
const onePlainParagraph = (text: string): boolean => md.render(text).trim() === `<p>${escapeHtml(text.trim())}</p>`;

// Characters Markdown and linkify care about, mixed with ordinary text.
const alphabet = fc.constantFrom(..."aZ09 .,:;!?'\"-+=#>*_`~|[]()<>&\\/@\t\n\r\0\u00a0éß€😀".split(""), "http://", "www.", ".com", "echo: ", "1. ", "- ", "&amp;", "example.org", "a@b.io", "a_b", "_", "__", "x1_", "_é");
const text = fc.array(alphabet, { maxLength: 24 }).map((parts) => parts.join(""));

describe("plain text skips Markdown", () => {
  it("only for text markdown-it renders as one escaped paragraph", () => {
    fc.assert(
      fc.property(text, (t) => {
        if (!needsMarkdown(t)) expect(onePlainParagraph(t)).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it("takes the fast path for a typical chat answer and gives the same content", () => {
    for (const t of ["echo: !room:localhost 3", "echo: bot !C3ON3z5ab_xXEB-4C2V8G:localhost 0", "call read_file now", "Sure, here it is.", "Das ist schön, oder?", "It costs 5 euros (about 5.40 dollars)"]) {
      expect(needsMarkdown(t)).toBe(false);
      expect(renderMarkdown(t)).toEqual({ body: t, html: undefined });
    }
    expect(needsMarkdown("see https://example.com")).toBe(true);
    expect(needsMarkdown("write to a@b.io")).toBe(true);
    expect(needsMarkdown("**bold**")).toBe(true);
    expect(needsMarkdown("an _emphasised_ word")).toBe(true);
    expect(needsMarkdown("1. first")).toBe(true);
  });
});
