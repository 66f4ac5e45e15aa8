# syntax=docker/dockerfile:1
# Conekt API and worker image. Build: docker build -t conekt .
# Run the API:    docker run -p 3000:3000 -e DATABASE_URL=... -e REDIS_URL=... -e JWT_SECRET=... -e ENCRYPTION_KEYS=... conekt
# Run a worker:   docker run ... conekt node dist/jobs/worker.js
# Without DATABASE_URL it runs on the embedded database in /data (mount a volume there).

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts/no-schema-engine.cjs ./scripts/no-schema-engine.cjs
COPY src ./src
COPY jobs ./jobs
# postinstall generates the Prisma client and compiles TypeScript into dist/.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY prisma/migrations ./prisma/migrations
COPY openapi.yaml ./openapi.yaml
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node runs as PID 1 and handles SIGTERM/SIGINT itself (close-with-grace in src/server.ts): no init shim needed.
CMD ["node", "dist/src/server.js"]
