/** The `!help` screen: everything a user can do, in one message. */
export const helpText = [
  "**Surfaces** — each room in your Space is one conversation with your agent. Just write.",
  "",
  "- `!new [name]` — a new chat room",
  "- `!chats` — your chat rooms",
  "- `!rename <name>` — rename this room",
  "- `!clear` (or `!reset`) — start this room's conversation afresh (asks first)",
  "- `!archive` — take this room out of your Space (asks first)",
  "- `!yes` / `!no` — answer a question (or react ✅ / ❌)",
  "- `!always` — approve the agent's question, and the same one in this chat from now on (or react ♾️)",
  "- `!stop` — stop the answer being written (or react ⏹ to it)",
  "- `!context` — this room's agent and conversation id",
  "- `!save <name>` / `!load <name>` — bookmark this conversation / switch to a bookmark",
  "- `!agent [id]` — list your agents / choose the one for new rooms",
  "- `!settings` — your user, agent, rooms and limits",
  "- `!help` — this list",
].join("\n");
