/**
 * Every sentence a user can see, in one place: easy to review, reword and
 * one day translate. Log messages live next to their code instead.
 */
export const strings = {
  strangerInvite:
    "Sorry — this bot only serves people its operator has registered, so I'm leaving this room.",
  welcome: (spaceName: string) =>
    `Hello! I made you a Space, **${spaceName}**, with a first chat room. ` +
    "Each room there is one conversation with your agent. Type `!help` in any room to see what I can do.",
  lobbyPointer: (spaceName: string) =>
    `Your chats live in your Space **${spaceName}** — open it from the left sidebar (I invited you). Type \`!new\` here for a new chat room.`,
  alreadyHaveSpace: (spaceName: string) =>
    `You already have a Space, **${spaceName}**; I invited you to it again.`,
  firstChatGreeting: (agentId: string) =>
    `This room talks to your agent **${agentId}**. Just write; \`!help\` lists the commands.`,
  encrypted:
    "I couldn't decrypt your last message: its keys never reached me. Please send it again. (If this keeps happening, check in your client that my device is not blocked.)",
  agentUnavailable: (agentId: string) =>
    `⚠️ Your agent **${agentId}** is not reachable right now, so your message was not delivered. Please try again in a moment.`,
  agentWaiting: (agentId: string, waitMs: number) =>
    `⏳ Your agent **${agentId}** is not reachable right now. Your message waits and goes out as soon as it is back (for up to ${formatDuration(waitMs)}); \`!stop\` gives up.`,
  waitCancelled: "Stopped waiting for the agent; that message was not delivered.",
  agentError: (message: string) => `⚠️ The agent reported an error: ${message}`,
  agentIdleTimeout: (seconds: number) =>
    `⚠️ The agent stopped answering (nothing for ${seconds} s), so I ended this turn.`,
  agentConnectionLost: "⚠️ The connection to the agent was lost mid-answer; what arrived is above.",
  // Limits on one turn (src/agents/turn-limits.ts); the agent was told to cancel.
  limitAnswerBytes: (limit: number) =>
    `⚠️ The agent's answer passed the ${formatBytes(limit)} limit for one answer, so I ended this turn; what arrived up to the limit is above.`,
  limitFiles: (limit: number) =>
    `⚠️ The agent tried to send more than ${limit} files in one answer, so I ended this turn.`,
  limitConfirms: (limit: number) =>
    `⚠️ The agent asked more than ${limit} questions in one answer, so I ended this turn.`,
  limitTurnLength: (ms: number) =>
    `⚠️ The agent worked on this for longer than the ${formatDuration(ms)} limit, so I ended this turn.`,
  limitFrameRate: (perSecond: number) =>
    `⚠️ The agent sent messages faster than the limit of ${perSecond} a second, so I ended this turn.`,
  cancelIgnored: (ms: number) =>
    `⏹ The agent did not stop within ${formatDuration(ms)}, so I ended this turn here; anything more it sends for it is dropped.`,
  agentNotInRegistry: (agentId: string) =>
    `⚠️ This room's agent **${agentId}** is no longer configured, so I can't forward messages from it. Start a new chat with \`!new\`.`,
  roomUnknown:
    "I don't know this room, so I can't forward your message. Use `!new` to start a new chat in your Space.",
  roomArchived: "This chat is archived; I no longer forward messages from it. Use `!new` to start a new one.",
  unknownCommand: (name: string) => `Unknown command \`!${name}\`. Type \`!help\` for the list.`,
  internalError: "⚠️ Something went wrong on my side while handling that. It has been logged.",
  roomChangedMeanwhile: "⚠️ This room was archived or changed while your files arrived, so I didn't pass that message on.",
  turnInterrupted: "⚠️ I was restarted while answering your previous message; that answer was cut short.",

  // Commands (src/core/commands/).
  chatRoomOnly: (name: string) => `\`!${name}\` works in one of your chat rooms, not here.`,
  roomIsArchived: (name: string) => `This chat is archived, so \`!${name}\` does nothing here. Use \`!new\` for a new chat.`,
  usage: (usage: string) => `Usage: \`${usage}\``,
  noSpaceYet: "You don't have a Space yet. Invite me to a room and I'll make you one.",
  noAgent: "The operator has not given you any agent, so I can't open a chat.",
  newChatCreated: (name: string, link: string, agentId: string) =>
    `New chat [${name}](${link}) with **${agentId}** — I invited you; it is in your Space.`,
  renamed: (name: string) => `Renamed this room to **${name}**.`,
  chatsHeader: (n: number) => (n === 0 ? "You have no active chat rooms. `!new` makes one." : `Your chat rooms (${n}):`),
  chatsLine: (name: string, link: string, agentId: string, here: boolean) =>
    `- [${name}](${link}) — ${agentId}${here ? " _(this room)_" : ""}`,
  contextInfo: (agentId: string, chatId: string) => `This room talks to **${agentId}**, conversation \`${chatId}\`.`,
  savedHeader: (n: number) => (n === 0 ? "No saved contexts yet (`!save <name>`)." : "Saved contexts:"),
  savedLine: (name: string, agentId: string, chatId: string) => `- **${name}** — ${agentId}, \`${chatId}\``,
  saved: (name: string) => `Saved this conversation as **${name}**. \`!load ${name}\` in a room of the same agent brings it back.`,
  noSuchSaved: (name: string) => `No saved context named **${name}**. \`!context\` lists yours.`,
  savedOtherAgent: (name: string, savedAgent: string, roomAgent: string) =>
    `**${name}** belongs to agent **${savedAgent}**, but this room talks to **${roomAgent}**. Load it in a room of ${savedAgent}.`,
  alreadyLoaded: (name: string) => `This room already holds **${name}**.`,
  loaded: (name: string, chatId: string) => `Switched this room to **${name}** (conversation \`${chatId}\`).`,
  agentsHeader: "Your agents (✅ = used for new rooms):",
  agentLine: (agentId: string, selected: boolean, status: string) => `- ${selected ? "✅" : "▫️"} **${agentId}** — ${status}`,
  agentHint: "`!agent <id>` picks the one for new rooms; existing rooms keep their agent.",
  agentSelected: (agentId: string) => `New rooms will use **${agentId}**. Existing rooms keep their agent.`,
  agentNotYours: (agentId: string) => `**${agentId}** is not one of your agents. \`!agent\` lists them.`,
  agentStatus: { connected: "connected", connecting: "connecting", unavailable: "unreachable" } as Record<string, string>,
  settings: (s: {
    user: string;
    agent: string;
    agents: number;
    space: string;
    chats: number;
    archived: number;
    editIntervalMs: number;
    idleTimeoutMs: number;
    confirmTimeoutMs: number;
  }) =>
    [
      "**Settings** (read-only)",
      `- user: ${s.user}`,
      `- agent for new rooms: **${s.agent}** (of ${s.agents})`,
      `- Space: ${s.space}`,
      `- chat rooms: ${s.chats} active, ${s.archived} archived`,
      `- answers are edited at most every ${formatDuration(s.editIntervalMs)}`,
      `- a silent agent is given up after ${formatDuration(s.idleTimeoutMs)}`,
      `- questions expire after ${formatDuration(s.confirmTimeoutMs)}`,
    ].join("\n"),
  nothingRunning: "Nothing is running here.",
  stoppedBeforeStart: "⏹ Stopped: your message had not reached the agent yet, so I won't pass it on.",

  // Confirmations (src/core/confirmations.ts).
  confirmClear: (ms: number) =>
    `Start this room's conversation afresh? The agent forgets it. Reply \`!yes\` / \`!no\` or react ✅ / ❌ (expires in ${formatDuration(ms)}).`,
  confirmArchive: (ms: number) =>
    `Archive this room? I'll take it out of your Space and stop answering here. Reply \`!yes\` / \`!no\` or react ✅ / ❌ (expires in ${formatDuration(ms)}).`,
  agentAsks: (agentId: string, prompt: string, ms: number) =>
    `❓ **${agentId}** asks: ${prompt}\n\nReply \`!yes\` / \`!no\` or react ✅ / ❌ (no answer in ${formatDuration(ms)} counts as no). ` +
    "`!always` or ♾️ approves it and the same request in this chat from now on.",
  nothingPending: "There is no question waiting for an answer here.",
  cleared: (chatId: string) => `Done — this room starts a fresh conversation (\`${chatId}\`).`,
  archived: "Archived. This room has left your Space and I no longer answer here.",
  confirmApproved: (prompt: string | undefined) => (prompt ? `✅ Approved: ${oneLine(prompt)}` : "✅ Approved."),
  confirmRefused: "❌ Refused.",
  confirmAlways: (prompt: string | undefined) =>
    `♾️ Approved, and from now on in this chat: ${oneLine(prompt ?? "")}. \`!context\` lists what is allowed; \`!clear\` forgets it.`,
  confirmAutoApproved: (prompt: string) => `♾️ Approved automatically (always allowed in this chat): ${oneLine(prompt)}`,
  alwaysOnlyForAgent: "`!always` answers only an agent's question. Answer this one with `!yes` / `!no`.",
  alwaysHeader: (n: number) => (n === 0 ? "Nothing is always allowed here (`!always` on an agent's question)." : "Always allowed in this chat (`!clear` forgets):"),
  alwaysLine: (prompt: string) => `- ${oneLine(prompt)}`,
  cancelled: "Cancelled; nothing changed.",
  /** What an open question is about, for notices that name it. */
  questionSubject: (kind: "clear" | "archive" | "confirm", prompt?: string) =>
    kind === "clear"
      ? "starting this room afresh (`!clear`)"
      : kind === "archive"
        ? "archiving this room (`!archive`)"
        : `the agent's question “${oneLine(prompt ?? "")}”`,
  questionAlreadyOpen: (subject: string) =>
    `There is already a question waiting for your answer here: ${subject}. Answer it with \`!yes\` / \`!no\` first; nothing else changed.`,
  agentQuestionDeclined: (agentId: string, prompt: string, subject: string) =>
    `❓ **${agentId}** asked: ${oneLine(prompt)}\n\nI answered no for you, because ${subject} is still waiting for your answer. The agent may ask again.`,
  questionDroppedByRestart:
    "⌛ I was restarted while the agent waited for your answer; that request no longer applies.",
  questionExpired: (kind: "clear" | "archive" | "confirm") =>
    kind === "confirm" ? "⌛ No answer in time, so that counts as no." : "⌛ No answer in time; nothing changed.",
  // Files (src/core/file-flow.ts).
  userSentFiles: (names: readonly string[]) =>
    names.length === 1 ? `(sent a file: ${names[0]})` : `(sent files: ${names.join(", ")})`,
  fileTooLargeIn: (name: string, limit: number) =>
    `⚠️ **${name}** is larger than the ${formatBytes(limit)} limit, so I didn't pass it on. Nothing was delivered.`,
  fileQuotaExceeded: (name: string, quota: number) =>
    `⚠️ I didn't pass on **${name}**: your files already kept for the agents would go over your ${formatBytes(quota)} quota. Nothing was delivered. Ask the agent to delete files it no longer needs, or ask the operator for more room.`,
  fileDiskFull: (name: string) =>
    `⚠️ I didn't pass on **${name}**: the agents' disk is almost full. Nothing was delivered. Please tell the operator.`,
  fileFetchFailed: (name: string) => `⚠️ I couldn't receive **${name}**, so your message was not delivered. Please try again.`,
  fileOutside: (p: string) => `⚠️ The agent asked to send \`${p}\`, which is outside its workspace, so I refused.`,
  filePathTooLong: "⚠️ The agent asked to send a file with an overlong path, so I refused.",
  fileInvalidPath: "⚠️ The agent asked to send a file with an invalid path, so I refused.",
  fileMissing: (p: string) => `⚠️ The agent asked to send \`${p}\`, but there is no such file.`,
  fileIsDirectory: (p: string) => `⚠️ The agent asked to send \`${p}\`, which is a directory, not a file.`,
  fileNotRegular: (p: string) => `⚠️ The agent asked to send \`${p}\`, which is not a regular file.`,
  fileEmpty: (p: string) => `⚠️ The agent asked to send \`${p}\`, but it is empty.`,
  fileTooLargeOut: (p: string, limit: number) =>
    `⚠️ The agent asked to send \`${p}\`, which is larger than the ${formatBytes(limit)} limit.`,
  fileSendFailed: (p: string) => `⚠️ I couldn't send the file \`${p}\` the agent asked for.`,
} as const;

/** "50 MiB", "1.5 KiB", "12 bytes": limits in notices. */
/** A prompt quoted inside a sentence: one line, bounded. */
function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s+/gu, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function formatBytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${Math.round(v * 10) / 10} ${units[i]}`;
}

/** "5 minutes", "90 s", "200 ms": short and readable in a chat line. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms % 60_000 === 0) return ms === 60_000 ? "1 minute" : `${ms / 60_000} minutes`;
  if (ms < 120_000) return `${Math.round(ms / 100) / 10} s`;
  return `${Math.round(ms / 60_000)} minutes`;
}
