#!/usr/bin/env bash
# Installs what vpipe needs to build and test on Debian 12, as root:
# FFmpeg 5.1 development libraries (go-astiav v0.16.0 is built for them), libjpeg-turbo
# and libwebp (the JPEG and WebP encoders), the
# ffmpeg CLI (tests compare vpipe's frames with it and build their videos with
# it), GEOS (labels are cropped with it, as the platform does through shapely),
# pkg-config and a C compiler for cgo, GNU time for bench/. Then fetches
# the Go modules and builds versitygw (the S3 server the tests start) and
# nats-server (the work queue's) into ~/.cache/vpipe-tools/bin, once. Go itself
# (>= 1.26, for nats.go) must be on PATH or in /usr/local/go.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(pkg-config gcc libc6-dev libgeos-dev libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libavfilter-dev libavdevice-dev libturbojpeg0-dev libwebp-dev ffmpeg time)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    echo "setup: Go is in /usr/local/go/bin; add it to PATH: export PATH=\$PATH:/usr/local/go/bin" >&2
  else
    echo "setup: Go >= 1.26 is needed (https://go.dev/doc/install)" >&2
  fi
  exit 1
fi
go mod download

# versitygw: a real S3 server for the S3 source and sink tests. Built from
# source once (3-4 minutes on 2 cores) and reused; VPIPE_VERSITYGW overrides.
VERSITYGW_VERSION=v1.8.0
tools="$HOME/.cache/vpipe-tools/bin"
if [ ! -x "${VPIPE_VERSITYGW:-$tools/versitygw}" ]; then
  echo "setup: building versitygw $VERSITYGW_VERSION into $tools (once)" >&2
  mkdir -p "$tools"
  (cd / && GOBIN="$tools" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION")
fi
# nats-server: the JetStream server the work-queue tests start. Built the same
# way, once; VPIPE_NATS_SERVER overrides.
NATS_SERVER_VERSION=v2.15.2
if [ ! -x "${VPIPE_NATS_SERVER:-$tools/nats-server}" ]; then
  echo "setup: building nats-server $NATS_SERVER_VERSION into $tools (once)" >&2
  mkdir -p "$tools"
  (cd / && GOBIN="$tools" go install "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION")
fi
echo "setup: ok ($(go version | cut -d' ' -f3), libavformat $(pkg-config --modversion libavformat), $(ffmpeg -version | head -1 | cut -d' ' -f1-3))"
