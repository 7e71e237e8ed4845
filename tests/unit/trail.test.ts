/**
 * The tool trail: which calls are kept, and how they render under a final
 * answer — escaped, bounded in bytes, the same lines in HTML and plain text.
 */
import { describe, expect, it } from "vitest";
import { ToolTrail } from "../../src/core/trail.js";
import { markdownContent } from "../../src/matrix/message-content.js";
import { renderTrail, TRAIL_MAX_BYTES, withTrail } from "../../src/matrix/trail-render.js";

describe("ToolTrail", () => {
  it("keeps the newest calls with their outcomes and counts the dropped ones", () => {
    const trail = new ToolTrail(2);
    trail.call("1", "a");
    trail.result("1", true, "fine");
    trail.call("2", "b");
    trail.call("3", "c");
    trail.result("3", false, "broke");
    trail.result("1", true, "late result for a dropped call");
    expect(trail.view()).toEqual({
      entries: [
        { callId: "2", name: "b", ok: null },
        { callId: "3", name: "c", ok: false, summary: "broke" },
      ],
      dropped: 1,
    });
  });

  it("is empty until a tool runs", () => {
    const trail = new ToolTrail(5);
    expect(trail.isEmpty()).toBe(true);
    expect(renderTrail(trail.view())).toBeNull();
    expect(withTrail(markdownContent("hi"), "hi", trail.view())).toEqual(markdownContent("hi"));
  });
});

describe("renderTrail", () => {
  it("escapes agent-chosen names and summaries in the HTML", () => {
    const trail = new ToolTrail(5);
    trail.call("1", "<script>alert(1)</script>");
    trail.result("1", true, '<img src=x onerror="y"> & more');
    const out = renderTrail(trail.view())!;
    expect(out.html).toBe(
      "<details><summary>🔧 1 tool call</summary><ul><li>✅ <code>&lt;script&gt;alert(1)&lt;/script&gt;</code> — &lt;img src=x onerror=&quot;y&quot;&gt; &amp; more</li></ul></details>",
    );
    expect(out.text).toBe('🔧 1 tool call:\n✅ <script>alert(1)</script> — <img src=x onerror="y"> & more');
  });

  it("stays within its byte bound however long the names, dropping the oldest lines", () => {
    const trail = new ToolTrail(1000);
    for (let i = 0; i < 1000; i++) {
      trail.call(String(i), `tool_${i}_${"x".repeat(500)}`);
      trail.result(String(i), true, "é".repeat(500));
    }
    const out = renderTrail(trail.view())!;
    expect(Buffer.byteLength(out.text)).toBeLessThanOrEqual(TRAIL_MAX_BYTES + 100);
    expect(out.text.startsWith("🔧 1000 tool calls:\n(")).toBe(true);
    expect(out.text).toContain("tool_999_");
    expect(out.text).not.toContain("tool_0_");
  });
});

describe("withTrail", () => {
  it("appends the trail to formatted_body and body, also when the answer itself is plain text", () => {
    const trail = new ToolTrail(5);
    trail.call("1", "search");
    trail.result("1", true, "3 results");
    const content = withTrail(markdownContent("plain"), "plain", trail.view());
    expect(content.body).toBe("plain\n\n🔧 1 tool call:\n✅ search — 3 results");
    expect(content.format).toBe("org.matrix.custom.html");
    expect(content.formatted_body).toBe("<p>plain</p><details><summary>🔧 1 tool call</summary><ul><li>✅ <code>search</code> — 3 results</li></ul></details>");
  });
});
