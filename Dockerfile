# Custos images, one file, one target per deployable (docs/operator.md "Images"):
#   node             TSS node: key shares, gRPC/mTLS on 9000
#   gateway          HTTP API on 8080, admin console on 8880, MPC coordinator
#   operator         reconciles KmsCluster, ManagedKey and KeyRotation
#   kek-sidecar      PKCS#11 KEK sidecar (node/kek-sidecar); a vendor image adds its PKCS#11 library on top
#   softhsm-sidecar  TEST ONLY: kek-sidecar plus Debian's SoftHSM2 and a token made at build time
# Build from the repository root, for example:
#   docker build --target gateway --build-arg BASE_IMAGE=docker.io/library/node:20.19.5-bookworm-slim \
#     -t registry.example.com/custos/gateway:0.1.0 .
# BASE_IMAGE is any Debian-based Node.js 20 image with npm and its headers under /usr/local (the
# official node images; CI uses the one hack/images/base-image.sh makes). Always name it with its
# registry and a tag or digest.
ARG BASE_IMAGE=docker.io/library/node:20.19.5-bookworm-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
# Native addons (better-sqlite3, classic-level, pkcs11js) build from source against this image's
# own Node headers, so the binaries match the runtime.
ENV npm_config_nodedir=/usr/local npm_config_build_from_source=true
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY common common
COPY node node
COPY gateway gateway
COPY operator operator
COPY sdk sdk
# tsconfig.build.json leaves tests and test support out of dist/.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${BASE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# Same uid/gid as the pods' securityContext; the root filesystem is mounted read-only there.
USER 10001:10001

FROM runtime AS node
EXPOSE 9000
ENTRYPOINT ["node", "--max-semi-space-size=2", "/app/dist/node/main.js"]

FROM runtime AS gateway
EXPOSE 8080 8880
ENTRYPOINT ["node", "--max-semi-space-size=2", "/app/dist/gateway/main.js"]

FROM runtime AS operator
EXPOSE 8081
ENTRYPOINT ["node", "--max-semi-space-size=2", "/app/dist/operator/main.js"]

FROM runtime AS kek-sidecar
ENTRYPOINT ["node", "--max-semi-space-size=2", "/app/dist/node/kek-sidecar/main.js"]

# Test only (the e2e suite's PKCS#11 mode): SoftHSM2 stands in for a network HSM. The token and its
# non-extractable HMAC key are made at build time, so every pod of this image derives the same KEKs.
# Never use it in production: the token's PIN is a build argument and the key sits in the image.
FROM kek-sidecar AS softhsm-sidecar
ARG SOFTHSM_TOKEN_LABEL=custos-e2e
ARG SOFTHSM_KEY_LABEL=custos-kek
ARG SOFTHSM_PIN=e2e-pin-1234
USER root
RUN apt-get update \
  && apt-get install -y --no-install-recommends softhsm2 \
  && rm -rf /var/lib/apt/lists/*
ENV SOFTHSM2_CONF=/etc/custos-softhsm/softhsm2.conf
COPY test/e2e/images/softhsm-init.mjs /opt/custos-test/softhsm-init.mjs
RUN mkdir -p /var/lib/custos-softhsm/tokens /etc/custos-softhsm \
  && printf 'directories.tokendir = /var/lib/custos-softhsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
    > "$SOFTHSM2_CONF" \
  && softhsm2-util --init-token --free --label "$SOFTHSM_TOKEN_LABEL" --pin "$SOFTHSM_PIN" --so-pin "so-$SOFTHSM_PIN" \
  && node /opt/custos-test/softhsm-init.mjs "$SOFTHSM_TOKEN_LABEL" "$SOFTHSM_KEY_LABEL" "$SOFTHSM_PIN" \
  && chown -R 10001:10001 /var/lib/custos-softhsm
USER 10001:10001
