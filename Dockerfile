# syntax=docker/dockerfile:1
# Build: a static binary (cgo for SQLite, linked statically against glibc).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -buildvcs=false \
      -tags 'sqlite_omit_load_extension netgo osusergo' \
      -ldflags "-s -w -X main.version=${VERSION} -linkmode external -extldflags '-static'" \
      -o /out/feedd ./cmd/feedd \
 && mkdir -p /out/data

# Run: distroless static, non-root. data_dir is a volume; the embedded NATS listens on all
# interfaces inside the container so that other containers can subscribe (publish the port
# only where you mean to).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/feedd /usr/local/bin/feedd
COPY --from=build --chown=65532:65532 /out/data /data
ENV FEEDD_DATA_DIR=/data \
    FEEDD_NATS_LISTEN=0.0.0.0:4222 \
    FEEDD_HTTP_LISTEN=0.0.0.0:9090
VOLUME ["/data"]
EXPOSE 4222 9090
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/feedd", "health", "--url", "http://127.0.0.1:9090/healthz"]
ENTRYPOINT ["/usr/local/bin/feedd"]
CMD ["run"]
