#!/usr/bin/env bash
# Installs what building and running vpipe needs on Debian 12, as root (or
# with sudo): FFmpeg 5.1's development libraries (go-astiav v0.16.0 is built
# for them), libjpeg-turbo's and libwebp's (the JPEG and WebP encoders),
# GEOS's (labels are cropped with it, as the platform does through shapely),
# pkg-config and a C compiler for cgo; then downloads the Go modules. Go
# itself (>= 1.26, for nats.go) must be on PATH.
#
# The tests and the benchmarks need more (the ffmpeg CLI, GNU time, an S3 and
# a NATS server): scripts/setup-tests.sh runs this script, then adds those.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

apt_need pkg-config gcc libc6-dev libgeos-dev \
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libavfilter-dev libavdevice-dev \
  libturbojpeg0-dev libwebp-dev
go_need
go_modules
echo "setup: ok ($(go version | cut -d' ' -f3), libavformat $(pkg-config --modversion libavformat), geos $(pkg-config --modversion geos 2>/dev/null || geos-config --version))" >&2
