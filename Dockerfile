# syntax=docker/dockerfile:1
# vsop as a container: `vsop watch` by default (see charts/vsop and deployments/deployment.yaml).
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/vsop:0.1.0 \
#   --build-arg REVISION=$(git rev-parse HEAD) --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) --push .
#
# Node 22, not 20: @kubernetes/client-node 2.x (undici 8) does not load on Node 20, which is past its end of
# life. The build stage runs on the build machine's own platform ($BUILDPLATFORM, no emulation): its output
# is plain JavaScript, the same for every target. It installs the runtime dependencies and esbuild only (not
# the `node` devDependency, TypeScript or the linters: the base image has Node 22), bundles, and checks the
# bundle starts. The runtime stage is distroless (no shell, no package manager), runs as the non-root user
# 65532, and holds only the bundle, without source maps (stack traces keep function names: keepNames).
#
# Base images are pinned by the digest of their multi-arch index. These digests were NOT resolved where this
# file was written (no container engine or registry access there): check them before the first build and
# whenever you move to a newer image, with
#   docker buildx imagetools inspect node:22-bookworm-slim                      (the "Digest:" line)
#   docker buildx imagetools inspect gcr.io/distroless/nodejs22-debian12:nonroot
# and replace both together with the tag's current digest.
ARG BUILD_IMAGE=node:22-bookworm-slim@sha256:43ac6c60b8f89723f746e8a92ce91abd5017e627ce1ddfe4238355d3a30b772c
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs22-debian12:nonroot@sha256:13593b7570658e8477de39e2f4a1dd25db2f836d68a0ba771251572d23bb4f8e

FROM --platform=$BUILDPLATFORM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Runtime dependencies as the lockfile pins them, no install scripts (none is needed to bundle them); then
# esbuild at the lockfile's version, aside, linked in (installing it into the project would pull every
# devDependency back in).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm install --prefix /opt/esbuild --no-save --no-audit --no-fund \
      "esbuild@$(node -p "require('./package-lock.json').packages['node_modules/esbuild'].version")" \
 && ln -s /opt/esbuild/node_modules/esbuild node_modules/esbuild
COPY scripts ./scripts
COPY src ./src
COPY bin ./bin
COPY tsconfig.json ./
RUN node scripts/build.ts \
 && find dist -name '*.map' -delete && rm -f dist/meta.json \
 && node bin/vsop.js version --client

FROM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="vsop" \
      org.opencontainers.image.description="Header-based routing between a production namespace and developer namespaces with Istio VirtualServices: vsop watch, the drop-in replacement for the VirtualService operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="gcr.io/distroless/nodejs22-debian12:nonroot"
WORKDIR /app
# The bundle carries every dependency: no node_modules at run time.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist ./dist
USER 65532:65532
EXPOSE 8080 8081
# Two malloc arenas instead of glibc's eight per core: vsop's threads (libuv's pool, V8's platform) allocate
# little, and each arena kept its freed pages (measured at 10,000 Services at rest: 120 MB -> 115 MB).
ENV MALLOC_ARENA_MAX=2
# A small young generation: vsop watch keeps ~40 MB of live objects for 10,000 Services, and V8's default
# 16 MB semi-spaces would hold the resident size ~30 MB above what it needs (measured: 170 MB -> 144 MB).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=1", "/app/bin/vsop.js"]
CMD ["watch"]
