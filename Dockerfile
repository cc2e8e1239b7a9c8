# gossip-cdn image: one image runs every role (`bootstrap` for the Point,
# `node` for a node; see docker-compose.yml). Multi-stage: TypeScript is
# compiled in the build stage; the runtime stage holds production
# dependencies and dist/ only, and runs as the unprivileged `node` user.

# ---- build ----
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build:product

# ---- runtime ----
FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Blob data (nodes) or the embedded banlist (a Point without DATABASE_URL).
# Created here, owned by `node`, so a fresh volume mounted on it is writable.
RUN mkdir -p /data && chown node:node /data
ENV DATA_DIR=/data
VOLUME ["/data"]
USER node
# 7000: a node's HTTP port; 8080: the Point's.
EXPOSE 7000 8080
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["node", "--host", "0.0.0.0", "--port", "7000"]
