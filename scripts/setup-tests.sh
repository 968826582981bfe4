#!/usr/bin/env bash
# Installs what the tests and the benchmarks need on top of scripts/setup.sh:
# the ffmpeg CLI and ffprobe (the tests build their videos with them and hold
# vpipe's frames against the CLI's), GNU time (bench/), Debian's chromium (the
# browser tests of vpipe preview drive it headless; VPIPE_CHROMIUM overrides),
# Python's Pillow (python3-pil: the PNG tests read vpipe's files back with
# libpng through it), Debian's python3 with numpy, OpenCV and PyYAML (the
# format tests read vpipe's COCO and YOLO output with them, internal/testenv/pyenv),
# and the servers the tests start, built once into ~/.cache/vpipe-tools/bin:
#   versitygw    the S3 server of the S3 source and sink tests (VPIPE_VERSITYGW overrides)
#   nats-server  the JetStream server of the work-queue tests (VPIPE_NATS_SERVER overrides)
#   azurite-blob the Azure Blob emulator of the azblob store tests (VPIPE_AZURITE overrides; npm)
#   fake-gcs-server  the GCS emulator of the gcs store tests (VPIPE_FAKE_GCS overrides)
# and the libraries the tests import, installed once into ~/.cache/vpipe-tools:
#   hyparquet    a Parquet reader (JavaScript, run by node) that reads the
#                WebDataset index back (VPIPE_HYPARQUET overrides; npm)
# A new test tool is one more line below: apt_need for a Debian package,
# go_tool for a Go-written server (its version must match the Go helper's that
# starts it, e.g. internal/testenv/s3test.Version), npm_tool for an npm one,
# npm_lib for an npm library the tests import.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

scripts/setup.sh
apt_need ffmpeg time chromium python3-pil
apt_need python3 python3-numpy python3-opencv python3-yaml
go_tool versitygw v1.8.0 github.com/versity/versitygw/cmd/versitygw VPIPE_VERSITYGW
go_tool nats-server v2.15.2 github.com/nats-io/nats-server/v2 VPIPE_NATS_SERVER
npm_tool azurite-blob azurite 3.37.0 azurite-blob VPIPE_AZURITE
go_tool fake-gcs-server v1.56.1 github.com/fsouza/fake-gcs-server VPIPE_FAKE_GCS
npm_lib hyparquet hyparquet 1.31.5 VPIPE_HYPARQUET
echo "setup-tests: ok ($(ffmpeg -version | head -1 | cut -d' ' -f1-3))" >&2
