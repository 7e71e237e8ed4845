/**
 * Shape of `config/matrix-agents.yaml`. zod checks each field; the
 * cross-references (user → agent, token_env → environment) are checked in
 * plain code so they are reported even when some other field is wrong.
 */
import { z } from "zod";
import {
  absolutePath,
  AGENT_ID,
  ENV_VAR_NAME,
  httpUrl,
  MATRIX_USER_ID,
} from "./validators.js";

const AGENT_ID_RULE = "agent ids use lowercase letters, digits, '_' and '-', starting with a letter or digit";
const agentId = z.string().regex(AGENT_ID, { message: AGENT_ID_RULE });
const USER_ID_RULE = "must be a Matrix user id like @name:example.org";

export const agentEntrySchema = z.strictObject({
  base_url: httpUrl("http://agent-alice:8080"),
  workspace_path: absolutePath("/agents/alice"),
  token_env: z
    .string()
    .regex(ENV_VAR_NAME, { message: "must be an environment variable name, e.g. AGENT_ALICE_TOKEN" })
    .optional(),
});

const agentList = z.union([agentId, z.array(agentId).min(1, { message: "must list at least one agent" })], {
  error: "must be an agent id or a list of agent ids",
});

export const registryFileSchema = z.strictObject(
  {
    // Keys are checked in crossCheck so that a bad key does not hide errors in its value.
    agents: z.record(z.string(), agentEntrySchema, {
      error: (iss) => (iss.input === undefined ? "is required" : "must be a mapping of agent id → agent"),
    }),
    user_agents: z
      .record(z.string(), agentList, { error: "must be a mapping of Matrix user id → agent id(s)" })
      .default({}),
  },
  { error: "the file must be a mapping with `agents` and `user_agents`" },
);

export type RegistryFile = z.infer<typeof registryFileSchema>;

export interface RawProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Unknown agent references, duplicate agents per user, unset token_env variables. */
export function crossCheck(raw: unknown, env: NodeJS.ProcessEnv): RawProblem[] {
  if (!isRecord(raw)) return [];
  const problems: RawProblem[] = [];
  const agents = isRecord(raw.agents) ? raw.agents : {};

  for (const [id, entry] of Object.entries(agents)) {
    if (!AGENT_ID.test(id)) problems.push({ path: ["agents", id], message: AGENT_ID_RULE });
    const tokenEnv = isRecord(entry) ? entry.token_env : undefined;
    if (typeof tokenEnv === "string" && ENV_VAR_NAME.test(tokenEnv) && !env[tokenEnv]) {
      problems.push({
        path: ["agents", id, "token_env"],
        message: `environment variable ${tokenEnv} is not set`,
      });
    }
  }

  const users = isRecord(raw.user_agents) ? raw.user_agents : {};
  for (const [user, value] of Object.entries(users)) {
    if (!MATRIX_USER_ID.test(user)) problems.push({ path: ["user_agents", user], message: USER_ID_RULE });
    const list = Array.isArray(value) ? value : [value];
    const seen = new Set<unknown>();
    list.forEach((ref, i) => {
      const path = Array.isArray(value) ? ["user_agents", user, i] : ["user_agents", user];
      if (typeof ref !== "string") return; // the schema reports the type
      if (!Object.hasOwn(agents, ref)) {
        problems.push({ path, message: `unknown agent "${ref}" (not listed under agents)` });
      } else if (seen.has(ref)) {
        problems.push({ path, message: `agent "${ref}" is listed twice` });
      }
      seen.add(ref);
    });
  }
  return problems;
}
