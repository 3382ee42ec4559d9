# syntax=docker/dockerfile:1
# Build: compile TypeScript with the full dependency set.
FROM node:22-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm rebuild argon2 better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
RUN node scripts/build.mjs

# Production dependencies only (native addons built here, not in the runtime image).
FROM node:22-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm rebuild argon2 better-sqlite3

# Runtime: no compilers, non-root user, state in /data and /keys.
FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    DATABASE_URL=sqlite:/data/idp.db \
    KEYS_DIR=/keys \
    PORT=3000 \
    HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# MIT: the licence notice travels with every copy of the software.
COPY package.json LICENSE ./
COPY bin ./bin
RUN mkdir -p /data /keys && chown node:node /data /keys && chmod 0700 /keys
USER node
VOLUME ["/data", "/keys"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/tessera.js"]
