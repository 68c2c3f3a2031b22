# Static acmehub image: pure Go (no cgo), running as a non-root user, for
# linux/amd64 and linux/arm64 alike (docker buildx build --platform ...): the
# compiler runs on the build machine's platform and cross-compiles.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X github.com/acmehub/acmehub/cmd.Version=${VERSION}" -o /out/acmehub . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/acmehub /usr/local/bin/acmehub
# SQLite's directory, writable by the runtime user; the chart mounts its
# volume here, and config.cfg at /etc/acmehub.
COPY --from=build --chown=65532:65532 /out/data /var/lib/acmehub
WORKDIR /var/lib/acmehub
USER 65532:65532
# DNS and the API on unprivileged ports; map 53 to 5353 in front (Service, port mapping).
EXPOSE 5353/udp 5353/tcp 8080/tcp 8443/tcp
ENTRYPOINT ["/usr/local/bin/acmehub"]
CMD ["server", "-c", "/etc/acmehub/config.cfg"]
