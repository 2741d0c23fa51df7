# ecs-prometheus-bridge container image.
#
#   docker build -t ecs-prometheus-bridge \
#     --build-arg VERSION=$(node -p 'require("./package.json").version') \
#     --build-arg REVISION=$(git rev-parse HEAD) --build-arg CREATED=$(date -u +%FT%TZ) .
#
# Three stages: `build` compiles TypeScript with the dev toolchain, `deps` installs production
# dependencies only, and the runtime stage copies just dist/, node_modules/ and package.json onto a
# distroless Node 22 image (no shell, no npm, no package manager) as a non-root user.
# CI cannot run a Docker engine: test/unit/deploy-dockerfile.test.ts parses this file, and
# test/unit/deploy-smoke.test.ts replays the `deps` stage and runs the result.

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# The context is an allow-list (.dockerignore): sources, tsconfig files, no tests, no node_modules.
COPY . .
RUN npm run build

FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only. TypeScript declarations and source maps are never loaded at run time;
# removing them halves node_modules (mostly the AWS SDK's dist-types). Licence files are kept.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && find node_modules -type d -name dist-types -prune -exec rm -rf {} + \
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete

# Same Debian 12 and Node 22 line as the build stages; `nonroot` is uid/gid 65532.
FROM gcr.io/distroless/nodejs22-debian12:nonroot AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="ecs-prometheus-bridge" \
      org.opencontainers.image.description="Prometheus http_sd for AWS ECS tasks and Cloud Map, and a Service Connect CloudWatch metrics exporter" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="gcr.io/distroless/nodejs22-debian12:nonroot"
ENV NODE_ENV=production
WORKDIR /app
# package.json is needed at run time: its "type": "module" makes dist/*.js ES modules.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER 65532:65532
EXPOSE 9100
# Liveness only (/healthz answers 200 while the process serves HTTP; AWS errors do not make it fail).
# The port follows BRIDGE_LISTEN_PORT; ECS uses the task definition's healthCheck, which runs the same command.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["/nodejs/bin/node", "-e", "fetch('http://127.0.0.1:'+(process.env.BRIDGE_LISTEN_PORT||9100)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is the process ECS signals (or the child of the ECS init process); it handles SIGTERM
# itself and exits within 10 s. Arguments after the image name are bridge flags, e.g. `--regions eu-west-1`.
# --max-semi-space-size=2: V8's young generation at most 2 x 2 MiB instead of 2 x 16. --heap-growing-percent=50:
# after a full GC the old generation may grow by half its live size before the next (V8's own factor goes up
# to 4x on a small heap). Together, in the scale bench: peak RSS 15-25 MiB less at 1,000 tasks and 20-45 MiB
# less at 10,000, refresh CPU within its run-to-run noise (bench/results.md).
# The scale and soak benches run the bridge with these flags.
ENTRYPOINT ["/nodejs/bin/node", "--enable-source-maps", "--max-semi-space-size=2", "--heap-growing-percent=50", "dist/cmd/main.js"]
