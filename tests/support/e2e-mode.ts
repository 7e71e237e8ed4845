/**
 * The e2e harness's encryption mode. SURFACES_E2E_ENCRYPTED=1 runs the same
 * files the way Element users meet the bot: the bots create encrypted rooms
 * (SURFACES_ENCRYPT_ROOMS=true), the test users are E2EE clients (Rust
 * crypto) whose new rooms are encrypted, and every read of a room through
 * room-messages.ts returns the events as the user's client decrypts them.
 */
export function e2eEncrypted(): boolean {
  return process.env["SURFACES_E2E_ENCRYPTED"] === "1";
}

/** What Element puts in a new private room or DM: Megolm from the first event. */
export const ENCRYPTION_STATE = { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } } as const;
