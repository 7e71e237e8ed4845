// One-shot setup job for docker-compose.fullstack.yml (runs in the Surfaces
// image, after Synapse is healthy). Idempotent, so it runs on every `up`:
//   1. registers the admin, the bot and the demo users (shared-secret registration);
//   2. exempts the bot from Synapse's rate limits (admin API override_ratelimit);
//   3. creates the agents' workspace directories and, when run as root, hands
//      them to WORKSPACE_OWNER (uid:gid) with setgid 2775.
// Reads everything from the environment (deploy/fullstack/fullstack.env); prints no secret.
import { createHmac } from "node:crypto";
import { chmodSync, chownSync, mkdirSync } from "node:fs";

const env = (name) => {
  const value = process.env[name]?.trim();
  if (!value) throw new Error(`${name} is not set (deploy/fullstack/fullstack.env)`);
  return value;
};
const base = env("SYNAPSE_URL").replace(/\/+$/, "");
const secret = env("SYNAPSE_REGISTRATION_SHARED_SECRET");
const localpart = (userId) => /^@([^:]+):/.exec(userId)?.[1] ?? userId;

async function call(method, path, body, token) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token && { authorization: `Bearer ${token}` }) },
    ...(body && { body: JSON.stringify(body) }),
  });
  const json = await res.json().catch(() => ({}));
  return { status: res.status, json };
}

async function register(username, password, admin) {
  const { json: nonceBody } = await call("GET", "/_synapse/admin/v1/register");
  const nonce = nonceBody.nonce;
  const mac = createHmac("sha1", secret)
    .update([nonce, username, password, admin ? "admin" : "notadmin"].join("\0"))
    .digest("hex");
  const { status, json } = await call("POST", "/_synapse/admin/v1/register", { nonce, username, password, admin, mac });
  if (status === 200) return console.log(`registered @${username}`);
  if (json.errcode === "M_USER_IN_USE") return console.log(`@${username} already exists`);
  throw new Error(`registering @${username} failed: HTTP ${status} ${json.errcode ?? ""} ${json.error ?? ""}`);
}

async function main() {
  const adminUser = process.env.SYNAPSE_ADMIN_USER?.trim() || "surfaces-admin";
  const adminPassword = env("SYNAPSE_ADMIN_PASSWORD");
  const botUserId = env("SURFACES_BOT_USER_ID");
  await register(adminUser, adminPassword, true);
  await register(localpart(botUserId), env("SURFACES_PASSWORD"), false);
  await register("alice", env("DEMO_ALICE_PASSWORD"), false);
  await register("bob", env("DEMO_BOB_PASSWORD"), false);

  const login = await call("POST", "/_matrix/client/v3/login", {
    type: "m.login.password",
    identifier: { type: "m.id.user", user: adminUser },
    password: adminPassword,
  });
  if (login.status !== 200) throw new Error(`admin login failed: HTTP ${login.status} ${login.json.errcode ?? ""}`);
  const token = login.json.access_token;
  try {
    // 0/0 means "no limit" for this user (Synapse admin API).
    const exempt = await call(
      "POST",
      `/_synapse/admin/v1/users/${encodeURIComponent(botUserId)}/override_ratelimit`,
      { messages_per_second: 0, burst_count: 0 },
      token,
    );
    if (exempt.status !== 200) throw new Error(`rate-limit exemption failed: HTTP ${exempt.status} ${exempt.json.errcode ?? ""}`);
    console.log(`${botUserId} exempted from rate limits`);
  } finally {
    await call("POST", "/_matrix/client/v3/logout", {}, token);
  }

  for (const dir of (process.env.WORKSPACES ?? "").split(",").map((d) => d.trim()).filter(Boolean)) {
    mkdirSync(dir, { recursive: true, mode: 0o775 });
    const owner = /^(\d+):(\d+)$/.exec(process.env.WORKSPACE_OWNER ?? "");
    if (owner && process.getuid?.() === 0) {
      // Bind-mounted workspaces may have been created by Docker as root.
      chownSync(dir, Number(owner[1]), Number(owner[2]));
      chmodSync(dir, 0o2775);
    }
    console.log(`workspace ${dir} ready`);
  }
}

main().catch((err) => {
  console.error(`setup failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
