import { renderMarkdown } from "./render.js";

export type MsgType = "m.text" | "m.notice";

export interface MessageContent {
  msgtype: MsgType;
  body: string;
  format?: "org.matrix.custom.html";
  formatted_body?: string;
  [key: string]: unknown;
}

/** Markdown as a Matrix message: plain `body`, sanitised `formatted_body` when formatting is present. */
export function markdownContent(markdown: string, msgtype: MsgType = "m.text"): MessageContent {
  const { body, html } = renderMarkdown(markdown);
  return html === undefined ? { msgtype, body } : { msgtype, body, format: "org.matrix.custom.html", formatted_body: html };
}

/** An edit (`m.replace`) that replaces `original`'s content with `content`. */
export function editContent(original: string, content: MessageContent): Record<string, unknown> {
  return {
    msgtype: content.msgtype,
    body: `* ${content.body}`,
    ...(content.formatted_body ? { format: content.format, formatted_body: `* ${content.formatted_body}` } : {}),
    "m.new_content": content,
    "m.relates_to": { rel_type: "m.replace", event_id: original },
  };
}
