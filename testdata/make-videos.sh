#!/usr/bin/env bash
# Builds the sample videos that pipeline.yaml reads (committed; about 0.5 MB in all).
# Needs the ffmpeg CLI. Run from anywhere: testdata/make-videos.sh
set -euo pipefail
cd "$(dirname "$0")"
rm -rf videos svproject/ds0/video svproject/ds0/datasets/night/video
mkdir -p videos/street svproject/ds0/video svproject/ds0/datasets/night/video
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }

# H.264 High with B-frames, 320x180, 4 s at 25 fps (100 frames)
ff -f lavfi -i "testsrc2=s=320x180:r=25:d=4" -f lavfi -i "sine=frequency=330:duration=4" \
   -c:v libx264 -preset veryfast -bf 3 -g 25 -pix_fmt yuv420p -c:a aac -b:a 32k -movflags +faststart videos/traffic.mp4
# VP9 in WebM, 256x144, 3 s at 20 fps (60 frames), in a sub-folder (becomes dataset "street")
ff -f lavfi -i "testsrc=s=256x144:r=20:d=3" -c:v libvpx-vp9 -b:v 150k -g 20 -pix_fmt yuv420p videos/street/crossing.webm
# a phone clip stored landscape with a 90° display matrix, 192x108, 2 s at 15 fps (30 frames)
ff -f lavfi -i "smptebars=s=192x108:r=15:d=2" -c:v libx264 -preset veryfast -bf 2 -pix_fmt yuv420p tmp_phone.mp4
ff -i tmp_phone.mp4 -c copy -metadata:s:v:0 rotate=90 videos/street/phone.mp4
rm -f tmp_phone.mp4
du -ch videos/*.* videos/*/* | tail -1

# the Supervisely video project fixture (annotations are hand-written JSON, committed)
ff -f lavfi -i "testsrc2=s=200x100:r=10:d=3" -c:v libx264 -preset veryfast -bf 2 -pix_fmt yuv420p svproject/ds0/video/clip.mp4
ff -f lavfi -i "testsrc=s=128x72:r=10:d=2" -c:v libx264 -preset veryfast -bf 2 -pix_fmt yuv420p svproject/ds0/datasets/night/video/dark.mp4
