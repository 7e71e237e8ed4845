/**
 * The bot's own account is never notified: Synapse runs every room member's
 * push rules for every event, and for a member whose rules say "notify" it
 * also checks the event's visibility, stores a push action and keeps unread
 * counts that a receipt must later settle. The bot reads nothing through
 * notifications, so it turns on the master rule (`.m.rule.master`, "mute
 * everything"), as bridges do: the first rule then matches every event and
 * the rest of that work is skipped.
 */
import { PushRuleKind, type MatrixClient } from "matrix-js-sdk";
import type { Logger } from "pino";

export const MASTER_RULE = ".m.rule.master";

/** Enables the master rule unless the push rules the client loaded show it on. Never throws (logged). */
export async function muteOwnNotifications(client: MatrixClient, logger: Logger): Promise<void> {
  const master = client.pushRules?.global.override?.find((r) => r.rule_id === MASTER_RULE);
  if (master?.enabled) return;
  try {
    await client.setPushRuleEnabled("global", PushRuleKind.Override, MASTER_RULE, true);
    logger.info("push notifications of the bot's own account turned off (master push rule)");
  } catch (err) {
    logger.warn({ err }, "could not turn on the master push rule; the homeserver keeps evaluating notifications for the bot");
  }
}
