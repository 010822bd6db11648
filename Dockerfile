# syntax=docker/dockerfile:1
# One image for the operator, the relay and the agent: `hsfleet <command>`.
# Without Docker, `make image-tar` builds the same image shape from the static
# binary (hack/image-tar.sh).
ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS=linux
ARG TARGETARCH
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w" -o /out/hsfleet ./cmd/hsfleet

FROM gcr.io/distroless/static:nonroot
LABEL org.opencontainers.image.source="https://github.com/hsfleet/hsfleet" \
      org.opencontainers.image.description="hsfleet operator, relay and handshake agent"
COPY --from=build /out/hsfleet /hsfleet
ENV TZ=UTC
USER 65532:65532
ENTRYPOINT ["/hsfleet"]
