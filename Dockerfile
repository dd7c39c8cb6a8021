# vsop as a container: `vsop watch` by default (see deployments/deployment.yaml).
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/vsop:0.1.0 --push .
#
# Node 22, not 20: @kubernetes/client-node 2.x (undici 8) does not load on Node 20, which is past its end of
# life. The build stage installs, tests the bundle's start and builds; the runtime stage is distroless
# (no shell, no package manager), runs as the non-root user 65532, and holds only the bundle.

FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY src ./src
COPY bin ./bin
COPY tsconfig.json ./
RUN npm ci --no-audit --no-fund && node bin/vsop.js --version

FROM gcr.io/distroless/nodejs22-debian12:nonroot
WORKDIR /app
# The bundle carries every dependency: no node_modules at run time.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist ./dist
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/nodejs/bin/node", "/app/bin/vsop.js"]
CMD ["watch"]
