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
    "I can't read encrypted messages. Please talk to me in the rooms of your Surfaces Space, which are not encrypted.",
  agentUnavailable: (agentId: string) =>
    `⚠️ Your agent **${agentId}** is not reachable right now, so your message was not delivered. Please try again in a moment.`,
  agentError: (message: string) => `⚠️ The agent reported an error: ${message}`,
  agentIdleTimeout: (seconds: number) =>
    `⚠️ The agent stopped answering (nothing for ${seconds} s), so I ended this turn.`,
  agentConnectionLost: "⚠️ The connection to the agent was lost mid-answer; what arrived is above.",
  agentNotInRegistry: (agentId: string) =>
    `⚠️ This room's agent **${agentId}** is no longer configured, so I can't forward messages from it. Start a new chat with \`!new\`.`,
  roomUnknown:
    "I don't know this room, so I can't forward your message. Use `!new` to start a new chat in your Space.",
  roomArchived: "This chat is archived; I no longer forward messages from it. Use `!new` to start a new one.",
  unknownCommand: (name: string) => `Unknown command \`!${name}\`. Type \`!help\` for the list.`,
  internalError: "⚠️ Something went wrong on my side while handling that. It has been logged.",
  turnInterrupted: "⚠️ I was restarted while answering your previous message; that answer was cut short.",
} as const;
