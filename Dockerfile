# syntax=docker/dockerfile:1
# One image for both the Surfaces bot (default) and the reference agent:
#   docker run surfaces                 -> node dist/main.js bot
#   docker run surfaces agent --host 0.0.0.0 --port 8080
# See docs/operator-guide.md.

ARG NODE_IMAGE=node:22-bookworm-slim

# --- build: all dependencies, compile TypeScript to dist/ ---------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Empty stand-ins that package.json `overrides` install for two unused native packages.
COPY vendor ./vendor
# No install scripts are needed: better-sqlite3 ships prebuilt binaries for
# linux-x64/arm64 (glibc), and tsx's esbuild is not used by the build.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# --- prod-deps: production dependencies only ----------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY vendor ./vendor
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime -------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    SURFACES_DATA_DIR=/data \
    SURFACES_REGISTRY_PATH=/config/matrix-agents.yaml \
    SURFACES_AGENTS_ROOT=/agents \
    SURFACES_HTTP_ADDR=0.0.0.0:9464 \
    HEALTHCHECK_URL=http://127.0.0.1:9464/healthz
# Idle memory (docs/performance.md, "Idle memory, session 4"; bench/startup.ts
# measures the bot with these): glibc keeps two malloc arenas, not one per
# thread, and hands blocks of 128 KB and more (sync response buffers) back to
# the system when freed; V8's young generation stays at 2 MB a semi-space
# instead of growing to 16 MB in the initial sync's burst and staying there.
ENV MALLOC_ARENA_MAX=2 \
    MALLOC_TRIM_THRESHOLD_=131072 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    NODE_OPTIONS=--max-semi-space-size=2
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=prod-deps /app/vendor ./vendor
COPY --from=build /app/dist ./dist
COPY package.json ./
# /data (SQLite) and /agents (shared workspaces) belong to the unprivileged
# `node` user (uid 1000) that ships with the base image; named volumes
# mounted there inherit this ownership on first use.
RUN mkdir -p /data /agents /config && chown node:node /data /agents
USER node
EXPOSE 9464 8080
VOLUME ["/data"]
# The bot's /healthz by default; the reference agent sets
# HEALTHCHECK_URL=http://127.0.0.1:8080/health.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.HEALTHCHECK_URL).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/main.js"]
CMD ["bot"]
