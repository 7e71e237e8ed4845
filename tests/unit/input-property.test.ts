/**
 * Properties over generated input (fast-check): who may drive a room,
 * how commands parse, how names are cleaned, and that no text — a user's or
 * an agent's — renders to executable HTML.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cleanName, escapeMarkdown, MAX_ROOM_NAME } from "../../src/core/commands/sanitize.js";
import { parseCommand } from "../../src/core/commands/parse.js";
import { asEventId, asRoomId, asUserId, type UserId } from "../../src/core/ids.js";
import type { IncomingEvent } from "../../src/core/incoming.js";
import { decide, type RoomContext } from "../../src/core/routing.js";
import { renderMarkdown } from "../../src/matrix/render.js";
import { parseRegistry } from "../../src/config/registry.js";

const BOT = asUserId("@bot:localhost");
const OWNER = asUserId("@owner:localhost");
const user = fc.constantFrom<UserId>(OWNER, asUserId("@other:localhost"), asUserId("@owner:evil.example"), asUserId("@OWNER:localhost"), BOT);
const text = fc.oneof(fc.string({ unit: "binary", maxLength: 60 }), fc.constantFrom("!help", "  !new x", "!stop", "!yes", "hello", ""));
const event: fc.Arbitrary<IncomingEvent> = fc.oneof(
  fc.record({
    kind: fc.constant("message" as const),
    roomId: fc.constant(asRoomId("!r:localhost")),
    eventId: fc.constant(asEventId("$e")),
    sender: user,
    text,
    files: fc.constant([]).map((): [] => []),
    encrypted: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("invite" as const), roomId: fc.constant(asRoomId("!r:localhost")), eventId: fc.constant(asEventId("$e")), sender: user }),
  fc.record({
    kind: fc.constant("reaction" as const),
    roomId: fc.constant(asRoomId("!r:localhost")),
    eventId: fc.constant(asEventId("$e")),
    sender: user,
    targetEventId: fc.constant(asEventId("$t")),
    key: fc.constantFrom("⏹", "✅", "❌", "👍"),
  }),
);
const room: fc.Arbitrary<RoomContext> = fc.record({
  kind: fc.constantFrom<RoomContext["kind"]>("chat", "space", "unknown"),
  owner: fc.constantFrom<UserId | null>(OWNER, asUserId("@other:localhost"), null),
  archived: fc.boolean(),
});

/** Actions that make the bot do something for the sender in the room. */
const DRIVING = new Set(["command", "forward", "reaction", "recover-room", "encrypted-notice", "archived-notice"]);

describe("routing (property-based)", () => {
  it("only registry users ever get an invite accepted or drive anything", () => {
    fc.assert(
      fc.property(event, room, fc.boolean(), (ev, r, allowed) => {
        const action = decide(ev, { botUserId: BOT, senderAllowed: allowed, room: r });
        if (!allowed) expect(["ignore", "refuse-invite"]).toContain(action.type);
        if (action.type === "accept-invite") expect(allowed).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("in a room with an owner, nobody else drives it — not even a look-alike id", () => {
    fc.assert(
      fc.property(event, room, (ev, r) => {
        const action = decide(ev, { botUserId: BOT, senderAllowed: true, room: r });
        if (DRIVING.has(action.type) && r.owner !== null) expect(ev.sender).toBe(r.owner);
        if (ev.sender === BOT) expect(action.type).toBe("ignore");
      }),
      { numRuns: 2000 },
    );
  });
});

describe("the registry decides who is served", () => {
  const registry = parseRegistry(
    ['agents:', '  a: { base_url: "http://127.0.0.1:9", workspace_path: "/agents/a" }', "user_agents:", '  "@alice:example.org": ["a"]'].join("\n"),
    "matrix-agents.yaml",
    {},
  );
  it("only the exact user id: the same name on another server, another case or with padding is a stranger", () => {
    expect(registry.agentsFor(asUserId("@alice:example.org"))).toEqual(["a"]);
    fc.assert(
      fc.property(
        fc.constantFrom("@alice:evil.example", "@alice:example.org.evil", "@ALICE:example.org", "@alice:Example.org", " @alice:example.org", "@alice:example.org:443", "@alice"),
        fc.string({ maxLength: 3 }),
        (lookAlike, pad) => {
          const id = asUserId(`${lookAlike}${pad}`);
          if (id === "@alice:example.org") return;
          expect(registry.agentsFor(id)).toEqual([]);
        },
      ),
    );
  });
});

describe("commands and names (property-based)", () => {
  it("a command's name is plain ASCII letters, lower-case; text without a leading ! is never a command", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 80 }), (t) => {
        const parsed = parseCommand(t);
        if (parsed) {
          expect(parsed.name).toMatch(/^[a-z]+$/u);
          expect(t.trimStart().replace(/^\u00a0+/u, "").trimStart().startsWith("!")).toBe(true);
          expect(parsed.args).toBe(parsed.args.trim());
        } else {
          expect(parseCommand(`  !\u00a0 ${t.replace(/^[\s\u00a0]+/u, "")}`)?.name ?? null).toSatisfy(
            (n: string | null) => n === null || /^[a-z]+$/u.test(n),
          );
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("cleaned names hold no control, invisible or bidi characters, are one line, bounded and stable", () => {
    const invisible = /[\p{Cc}\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\u2028\u2029]/u;
    const spiced = fc.array(
      fc.oneof(fc.string({ unit: "binary", maxLength: 8 }), fc.constantFrom("\u200b", "\u202e", "\u2066", "\ufeff", "\n", "\t", "\u0000", "\u00ad", "<b>", "😀")),
      { maxLength: 30 },
    );
    fc.assert(
      fc.property(spiced, (parts) => {
        const name = cleanName(parts.join(""), MAX_ROOM_NAME);
        expect(name).not.toMatch(invisible);
        expect([...name].length).toBeLessThanOrEqual(MAX_ROOM_NAME);
        expect(name).toBe(name.trim());
        expect(cleanName(name, MAX_ROOM_NAME)).toBe(name);
      }),
      { numRuns: 2000 },
    );
  });
});

const SAFE_TAGS = new Set(["p", "strong", "em", "b", "i", "u", "s", "del", "code", "pre", "a", "ul", "ol", "li", "br", "hr", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "span", "sup", "sub", "div", "font", "caption", "details", "summary"]);

function executableMarkup(html: string): string[] {
  const bad: string[] = [];
  for (const m of html.matchAll(/<\/?\s*([a-zA-Z][a-zA-Z0-9]*)([^>]*)>/gu)) {
    const [tag, name = "", attrs = ""] = m;
    if (!SAFE_TAGS.has(name.toLowerCase()) || /\bon[a-z]+\s*=/iu.test(attrs) || /(javascript|data|vbscript):/iu.test(attrs)) bad.push(tag);
  }
  return bad;
}

describe("rendering (property-based)", () => {
  const piece = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom(
      "<script>alert(1)</script>",
      "<img src=x onerror=alert(1)>",
      "[x](javascript:alert(1))",
      "[x](data:text/html;base64,PHNjcmlwdD4=)",
      "<a href='javascript:alert(1)'>x</a>",
      "<svg onload=alert(1)>",
      "**b**",
      "`code`",
      "```\n<script>\n```",
      "\n\n",
      "| a | b |\n|---|---|\n| <i onclick=x>1</i> | 2 |",
      "<iframe src=//evil>",
      "&lt;script&gt;",
    ),
  );
  it("no Markdown, however hostile, renders to a tag or attribute that can run script", () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const { html } = renderMarkdown(parts.join(" "));
        if (html !== undefined) expect(executableMarkup(html), html).toEqual([]);
      }),
      { numRuns: 1000 },
    );
  });

  /** What a client shows for an HTML string: tags dropped, entities decoded. */
  const shownText = (html: string): string =>
    html.replace(/<[^>]*>/gu, "").replace(/&lt;/gu, "<").replace(/&gt;/gu, ">").replace(/&quot;/gu, '"').replace(/&#39;/gu, "'").replace(/&amp;/gu, "&");

  it("an escaped name renders as exactly the typed text, never as markup", () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 6 }), (parts) => {
        const name = cleanName(parts.join(" "), MAX_ROOM_NAME);
        const { html } = renderMarkdown(`Renamed to **${escapeMarkdown(name)}**.`);
        if (html !== undefined) {
          expect(executableMarkup(html), html).toEqual([]);
          expect(shownText(html)).toBe(`Renamed to ${name}.`);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
