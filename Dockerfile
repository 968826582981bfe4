# vpipe on Debian 12 (bookworm) with Debian's FFmpeg 5.1, which go-astiav
# v0.16.0 is built for. Two stages: a cgo build with the FFmpeg (and GEOS,
# libjpeg-turbo, libwebp) development libraries, then a slim runtime holding only their shared libraries.
#
#   docker build -t vpipe .
#   docker run --rm -v "$PWD:/work" vpipe run pipeline.yaml
FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      pkg-config gcc libc6-dev libgeos-dev libturbojpeg0-dev libwebp-dev \
      libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libavfilter-dev libavdevice-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.Version=${VERSION}" -o /out/vpipe ./cmd/vpipe

FROM debian:bookworm-slim
# The shared libraries the binary links (their own dependencies come along),
# and CA certificates for S3 and Supervisely over HTTPS.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libavformat59 libavcodec59 libavutil57 libswscale6 libavfilter8 libavdevice59 libgeos-c1v5 libturbojpeg0 libwebp7 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /work vpipe
COPY --from=build /out/vpipe /usr/local/bin/vpipe
# Fails the build if a shared library is missing.
RUN vpipe version
USER 10001
WORKDIR /work
ENTRYPOINT ["vpipe"]
CMD ["--help"]
