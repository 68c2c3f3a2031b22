# Static acmehub image: pure Go (no cgo), running as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/acmehub/acmehub/cmd.Version=${VERSION}" -o /out/acmehub .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/acmehub /usr/local/bin/acmehub
USER 65532:65532
# DNS and the API on unprivileged ports; map 53 to 5353 in front (Service, port mapping).
EXPOSE 5353/udp 5353/tcp 8080/tcp 8443/tcp
ENTRYPOINT ["/usr/local/bin/acmehub"]
CMD ["server", "-c", "/etc/acmehub/config.cfg"]
