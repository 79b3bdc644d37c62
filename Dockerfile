# The consumer service image: build with the full toolchain, run on a slim base
# with production dependencies only, as the unprivileged `node` user.
# Node 22 LTS: Node 20 reached its end of life in April 2026 and
# @qdrant/js-client-rest 1.19 declares Node 22+. (The test suite on the build
# machine still runs on its Node 20; the code uses nothing newer than both have.)
FROM node:22.21.1-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json ./
COPY core/package.json core/
COPY schemas/package.json schemas/
COPY producer/package.json producer/
COPY consumer/package.json consumer/
RUN npm ci --no-audit --no-fund
COPY core core
COPY schemas schemas
COPY producer producer
COPY consumer consumer
RUN npx tsc -b core schemas producer producer/demo consumer && npm prune --omit=dev --no-audit --no-fund

FROM node:22.21.1-bookworm-slim
ENV NODE_ENV=production \
    METRICS_HOST=0.0.0.0 \
    METRICS_PORT=9464
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/core/package.json core/
COPY --from=build /app/core/dist core/dist
COPY --from=build /app/schemas/package.json /app/schemas/*.avsc schemas/
COPY --from=build /app/schemas/dist schemas/dist
COPY --from=build /app/producer/package.json producer/
COPY --from=build /app/producer/dist producer/dist
# The demo profile's load generator (docker-compose.yml, demo-load), not part of the SDK.
COPY --from=build /app/producer/demo/dist producer/demo/dist
COPY --from=build /app/consumer/package.json consumer/
COPY --from=build /app/consumer/dist consumer/dist
USER node
EXPOSE 9464
# /readyz answers 200 once the consumer joined its group and Qdrant is reachable.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "consumer/dist/service/main.js"]
