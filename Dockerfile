# syntax=docker/dockerfile:1
#
# The exporter's image: FROM scratch with the compiled binary, the C libraries it links (packaging/rootfs/files.txt),
# CA certificates and the nonroot user 65532. The stages that run commands run on the build machine's platform and
# only read the target architecture's Debian, so a multi-arch build needs no emulation:
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t pulumi-exporter .
#
# At run time Bun needs /proc (every container runtime mounts it) and a writable $TMPDIR: /tmp, which a
# read-only root filesystem has to get from a volume (an emptyDir in Kubernetes, --tmpfs /tmp with Docker).

ARG NODE_IMAGE=node:20-bookworm
ARG DEBIAN_IMAGE=debian:bookworm-slim

# Bun cross-compiles every release target from here; the image takes the Linux glibc binary of its architecture.
# Nothing in this stage depends on the target, so a multi-platform build compiles once.
FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# .git comes along: the build embeds the commit.
COPY . .
RUN npm run build:all

# The target architecture's Debian, the same release as the build stage's: its libraries are copied, never run.
FROM ${DEBIAN_IMAGE} AS target-debian

FROM --platform=$BUILDPLATFORM ${DEBIAN_IMAGE} AS rootfs
ARG TARGETARCH
COPY --from=target-debian / /sysroot/
COPY --from=build /etc/ssl/certs/ca-certificates.crt /sysroot/etc/ssl/certs/ca-certificates.crt
COPY packaging/rootfs/ /packaging/rootfs/
COPY --from=build /src/dist/ /dist/
# Docker names architectures amd64/arm64, Bun x64/arm64.
RUN case "$TARGETARCH" in \
      amd64) binary=/dist/pulumi-exporter_linux_x64 ;; \
      arm64) binary=/dist/pulumi-exporter_linux_arm64 ;; \
      *) echo "unsupported TARGETARCH '$TARGETARCH' (amd64 or arm64)" >&2; exit 1 ;; \
    esac \
 && SYSROOT=/sysroot sh /packaging/rootfs/assemble.sh "$TARGETARCH" "$binary" /rootfs

FROM scratch
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE_URL=https://github.com/OWNER/pulumi-exporter
LABEL org.opencontainers.image.title="pulumi-exporter" \
      org.opencontainers.image.description="OpenTelemetry metrics exporter for Pulumi Cloud: stacks, updates, deployments, org, policy, ESC and Neo" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=rootfs /rootfs/ /
COPY --from=rootfs --chown=65532:65532 /rootfs/home/nonroot/ /home/nonroot/
ENV HOME=/home/nonroot \
    TMPDIR=/tmp
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/pulumi-exporter"]
