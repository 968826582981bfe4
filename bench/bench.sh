#!/usr/bin/env bash
# Times vpipe against the ffmpeg CLI on the same jobs over a 1080p30 H.264 clip
# with B-frames, and compares vpipe's peak RSS on the clip and on one 5x longer.
# Run by hand (not in CI): bench/bench.sh [seconds, default 20]
# Needs scripts/setup.sh (ffmpeg, GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
work=bench/work
mkdir -p "$work"
go build -o "$work/vpipe" ./cmd/vpipe

clip() { # clip SECONDS -> path (cached)
  local f="$work/clip_1080p30_${1}s.mp4"
  if [ ! -s "$f" ]; then
    echo "building $f ..." >&2
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=s=1920x1080:r=30:d=$1" \
      -c:v libx264 -preset veryfast -bf 3 -g 60 -pix_fmt yuv420p "$f"
  fi
  echo "$f"
}

# measure NAME FRAMES CMD... : prints frames/s, CPU s per frame, peak RSS
measure() {
  local name=$1 frames=$2; shift 2
  rm -rf "$work/out"; mkdir -p "$work/out"
  /usr/bin/time -o "$work/time.txt" -f "%e %U %S %M" "$@" >/dev/null 2>"$work/stderr.txt" ||
    { echo "$name failed:" >&2; tail -5 "$work/stderr.txt" >&2; exit 1; }
  local t; t=$(tail -1 "$work/time.txt")
  local n; n=$(find "$work/out" -name '*.png' | wc -l)
  if [ "$n" -ne "$frames" ]; then echo "$name: wrote $n frames, expected $frames" >&2; exit 1; fi
  read -r wall user sys rss <<<"$t"
  awk -v n="$name" -v f="$frames" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" \
    'BEGIN { printf "%-34s %6d frames  %7.1f frames/s  %6.1f ms CPU/frame  %7.1f MiB peak RSS\n", n, f, f/w, 1000*(u+s)/f, r/1024 }'
  echo "$name $frames $wall $user $sys $rss" >> "$work/results.txt"
}

ratio() { # ratio VPIPE_NAME FFMPEG_NAME
  awk -v a="$1" -v b="$2" '$1==a {fa=$2/$3; ca=($4+$5)/$2; ra=$6} $1==b {fb=$2/$3; cb=($4+$5)/$2; rb=$6}
    END { printf "  vpipe/ffmpeg: speed %.2fx, CPU per frame %.2fx, peak RSS %.2fx\n", fa/fb, ca/cb, ra/rb }' "$work/results.txt"
}

: > "$work/results.txt"
c=$(clip "$secs")
n=$((secs * 30))
echo "== $c: $n frames, $(nproc) cores, $(ffmpeg -version | head -1 | cut -d' ' -f1-3)"

measure vpipe_full_png "$n" "$work/vpipe" frames "$c" -o "$work/out"
measure ffmpeg_full_png "$n" ffmpeg -nostdin -i "$c" -map 0:v:0 -fps_mode passthrough -pix_fmt rgb24 -compression_level 1 "$work/out/frame_%06d.png"
ratio vpipe_full_png ffmpeg_full_png

measure vpipe_640x360 "$n" "$work/vpipe" frames "$c" -o "$work/out" --resize 640x360
measure ffmpeg_640x360 "$n" ffmpeg -nostdin -i "$c" -map 0:v:0 -fps_mode passthrough -vf scale=640:360 -pix_fmt rgb24 -compression_level 1 "$work/out/frame_%06d.png"
ratio vpipe_640x360 ffmpeg_640x360

k=$(( (n + 9) / 10 ))
measure vpipe_step10 "$k" "$work/vpipe" frames "$c" -o "$work/out" --step 10
measure ffmpeg_step10 "$k" ffmpeg -nostdin -i "$c" -map 0:v:0 -vf "select=not(mod(n\,10))" -fps_mode passthrough -pix_fmt rgb24 -compression_level 1 "$work/out/frame_%06d.png"
ratio vpipe_step10 ffmpeg_step10

echo "== memory: the same job on a clip 5x longer (peak RSS must not grow with length)"
c5=$(clip $((secs * 5)))
k5=$(( (n * 5 + 9) / 10 ))
measure vpipe_step10_5x "$k5" "$work/vpipe" frames "$c5" -o "$work/out" --step 10
awk '$1=="vpipe_step10" {a=$6} $1=="vpipe_step10_5x" {b=$6}
  END { d=(b-a)/a*100; printf "  peak RSS %.1f MiB -> %.1f MiB (%+.1f %%): %s\n", a/1024, b/1024, d, (d<15 && d>-15) ? "flat (< 15 %)" : "GROWS" }' "$work/results.txt"

echo "== sparse: one frame every 5 s of the 5x clip (vpipe seeks to each; ffmpeg decodes every frame)"
k150=$(( (n * 5 + 149) / 150 ))
measure vpipe_every5s "$k150" "$work/vpipe" frames "$c5" -o "$work/out" --step 150
measure ffmpeg_every5s "$k150" ffmpeg -nostdin -i "$c5" -map 0:v:0 -vf "select=not(mod(n\,150))" -fps_mode passthrough -pix_fmt rgb24 -compression_level 1 "$work/out/frame_%06d.png"
ratio vpipe_every5s ffmpeg_every5s
rm -rf "$work/out"
