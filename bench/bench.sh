#!/usr/bin/env bash
# Times vpipe against the ffmpeg CLI on the same jobs over camera-like 1080p30
# footage (testsrc2 + temporal noise, x264 veryfast with B-frames at 8 Mb/s) and a
# clean 1080p30 testsrc2 clip, and compares vpipe's peak RSS on the clean clip
# and on one 5x longer. Run by hand (not in CI): bench/bench.sh [seconds, default 20]
# Needs scripts/setup-tests.sh (the ffmpeg CLI, GNU time); installs Debian's
# python3-av and python3-opencv for the Python module's algorithm (bench/module.py).
# VPIPE_BASE=BINARY also times an older vpipe on the sparse job (step 5), for
# the issue-19 target "step 5 at >= 1.5x today's speed".
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
work=bench/work
mkdir -p "$work"
go build -o "$work/vpipe" ./cmd/vpipe
cores=$(nproc)
if ! /usr/bin/python3 -c 'import av, cv2' 2>/dev/null; then
  echo "installing python3-av python3-opencv (the module's algorithm) ..." >&2
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_=sudo
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -q python3-av python3-opencv >/dev/null
fi

clip() { # clip SECONDS -> path (cached)
  local f="$work/clip_1080p30_${1}s.mp4"
  if [ ! -s "$f" ]; then
    echo "building $f ..." >&2
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=s=1920x1080:r=30:d=$1" \
      -c:v libx264 -preset veryfast -bf 3 -g 60 -pix_fmt yuv420p "$f"
  fi
  echo "$f"
}

# camera SECONDS -> path (cached): camera-like footage, as issue 11 measured it
camera() {
  local f="$work/camera_1080p30_${1}s.mp4"
  if [ ! -s "$f" ]; then
    echo "building $f ..." >&2
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30" -vf "noise=alls=6:allf=t" \
      -frames:v $(($1 * 30)) -c:v libx264 -preset veryfast -bf 3 -g 60 -b:v 8M -pix_fmt yuv420p "$f"
  fi
  echo "$f"
}

# measure NAME FRAMES INPUT CMD... : prints frames/s and frames/s a core, input
# MB/s a core, CPU ms per frame, peak RSS and output MB. A NAME ending in
# _decode writes nothing (the decode floor): its frames are not counted.
measure() {
  local name=$1 frames=$2 input=$3; shift 3
  rm -rf "$work/out"; mkdir -p "$work/out"
  /usr/bin/time -o "$work/time.txt" -f "%e %U %S %M" "$@" >/dev/null 2>"$work/stderr.txt" ||
    { echo "$name failed:" >&2; tail -5 "$work/stderr.txt" >&2; exit 1; }
  local t; t=$(tail -1 "$work/time.txt")
  local n; n=$(find "$work/out" -name 'frame_*' | wc -l)
  if [[ $name != *_decode ]] && [ "$n" -ne "$frames" ]; then echo "$name: wrote $n frames, expected $frames" >&2; exit 1; fi
  local bytes; bytes=$(find "$work/out" -name 'frame_*' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
  local in; in=$(stat -c %s "$input")
  read -r wall user sys rss <<<"$t"
  awk -v n="$name" -v f="$frames" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v b="$bytes" -v c="$cores" -v i="$in" \
    'BEGIN { printf "%-22s %5d frames %7.1f frames/s (%6.1f a core) %5.2f MB/s in a core %6.1f ms CPU/frame %6.1f MiB peak RSS %8.1f MB out\n",
      n, f, f/w, f/w/c, i/1e6/w/c, 1000*(u+s)/f, r/1024, b/1e6 }'
  echo "$name $frames $wall $user $sys $rss $bytes" >> "$work/results.txt"
}

ratio() { # ratio VPIPE_NAME OTHER_NAME [LABEL]
  awk -v a="$1" -v b="$2" -v l="${3:-vpipe/ffmpeg}" '$1==a {fa=$2/$3; ca=($4+$5)/$2; ra=$6; ba=$7} $1==b {fb=$2/$3; cb=($4+$5)/$2; rb=$6; bb=$7}
    END { printf "  %s: speed %.2fx, CPU per frame %.2fx, peak RSS %.2fx, output bytes %.2fx\n", l, fa/fb, ca/cb, ra/rb, (bb ? ba/bb : 0) }' "$work/results.txt"
}

# target NAME WHAT A B [WANT] : whether a figure of A (against B) meets its target
target() {
  awk -v n="$1" -v what="$2" -v a="$3" -v b="$4" -v want="${5:-0}" '
    $1==a {fa=$2/$3; ra=$6/1024; ba=$7; ca=($4+$5)/$2} $1==b {fb=$2/$3; bb=$7; cb=($4+$5)/$2}
    END {
      if (what=="speed") { v=fa/fb; ok=v>=want; printf "  target %-34s %.2fx %s (>= %.2fx): %s\n", n, v, b, want, ok?"met":"NOT MET" }
      if (what=="bytes") { v=ba/bb; ok=v<=1; printf "  target %-34s %.2fx %s (<= 1): %s\n", n, v, b, ok?"met":"NOT MET" }
      if (what=="cpu")   { v=ca/cb; ok=v<=want; printf "  target %-34s %.2fx %s (<= %.2fx): %s\n", n, v, b, want, ok?"met":"NOT MET" }
      if (what=="rss")   { ok=ra<=want; printf "  target %-34s %.1f MiB (<= %d): %s\n", n, ra, want, ok?"met":"NOT MET" }
      if (what=="fps")   { ok=fa>=want; printf "  target %-34s %.1f frames/s (>= %d): %s\n", n, fa, want, ok?"met":"NOT MET" }
    }' "$work/results.txt"
}

: > "$work/results.txt"
n=$((secs * 30))
cam=$(camera "$secs")
c=$(clip "$secs")
echo "== $cam (camera-like): $n frames, $cores cores, $(ffmpeg -version | head -1 | cut -d' ' -f1-3)"
cli=(ffmpeg -nostdin -i "$cam" -map 0:v:0 -fps_mode passthrough)

# The floor: FFmpeg decoding every frame and converting it to RGB, nothing written.
measure ffmpeg_cam_decode "$n" "$cam" "${cli[@]}" -pix_fmt rgb24 -f null -
measure vpipe_cam_png "$n" "$cam" "$work/vpipe" frames "$cam" -o "$work/out"
measure module_cam_png "$n" "$cam" bench/module.py "$cam" "$work/out"
measure ffmpeg_cam_png "$n" "$cam" "${cli[@]}" -pix_fmt rgb24 -compression_level 1 "$work/out/frame_%06d.png"
ratio vpipe_cam_png module_cam_png vpipe/module
ratio vpipe_cam_png ffmpeg_cam_png vpipe/ffmpeg
ratio vpipe_cam_png ffmpeg_cam_decode "vpipe/decode floor"

measure vpipe_cam_640x360 "$n" "$cam" "$work/vpipe" frames "$cam" -o "$work/out" --resize 640x360
measure module_cam_640x360 "$n" "$cam" bench/module.py "$cam" "$work/out" 1 640x360
measure ffmpeg_cam_640x360 "$n" "$cam" "${cli[@]}" -vf scale=640:360 -pix_fmt rgb24 -compression_level 1 "$work/out/frame_%06d.png"
ratio vpipe_cam_640x360 module_cam_640x360 vpipe/module
ratio vpipe_cam_640x360 ffmpeg_cam_640x360 vpipe/ffmpeg

# JPEG quality 90 (libjpeg-turbo, 4:2:0); the CLI's mjpeg at -q:v 2 for reference (not the same quality scale)
measure vpipe_cam_jpeg90 "$n" "$cam" "$work/vpipe" frames "$cam" -o "$work/out" --format jpeg --quality 90
measure ffmpeg_cam_mjpeg_q2 "$n" "$cam" "${cli[@]}" -pix_fmt yuvj420p -q:v 2 "$work/out/frame_%06d.jpg"
ratio vpipe_cam_jpeg90 ffmpeg_cam_mjpeg_q2

# Sparse: every 5th frame (each selected frame must still be exact; what no
# selected frame references need not be decoded).
k5=$(( (n + 4) / 5 ))
measure vpipe_cam_step5 "$k5" "$cam" "$work/vpipe" frames "$cam" -o "$work/out" --step 5
measure module_cam_step5 "$k5" "$cam" bench/module.py "$cam" "$work/out" 5
measure ffmpeg_cam_step5 "$k5" "$cam" "${cli[@]}" -vf "select=not(mod(n\,5))" -pix_fmt rgb24 -compression_level 1 "$work/out/frame_%06d.png"
ratio vpipe_cam_step5 module_cam_step5 vpipe/module
ratio vpipe_cam_step5 ffmpeg_cam_step5 vpipe/ffmpeg
if [ -n "${VPIPE_BASE:-}" ]; then
  measure base_cam_step5 "$k5" "$cam" "$VPIPE_BASE" frames "$cam" -o "$work/out" --step 5
  ratio vpipe_cam_step5 base_cam_step5 "vpipe/VPIPE_BASE"
fi

echo "== targets (issue 19; one run, this machine)"
target "full-size PNG speed vs module" speed vpipe_cam_png module_cam_png 2.5
target "full-size PNG speed vs CLI" speed vpipe_cam_png ffmpeg_cam_png 2.5
target "full-size PNG bytes vs module" bytes vpipe_cam_png module_cam_png
target "full-size PNG peak RSS" rss vpipe_cam_png ffmpeg_cam_png 160
target "full-size PNG CPU/frame vs floor" cpu vpipe_cam_png ffmpeg_cam_decode 1.5
target "640x360 PNG speed vs module" speed vpipe_cam_640x360 module_cam_640x360 2
[ -n "${VPIPE_BASE:-}" ] && target "step 5 speed vs VPIPE_BASE" speed vpipe_cam_step5 base_cam_step5 1.5

echo "== $c (clean testsrc2): $n frames"
measure vpipe_full_png "$n" "$c" "$work/vpipe" frames "$c" -o "$work/out"
measure ffmpeg_full_png "$n" "$c" ffmpeg -nostdin -i "$c" -map 0:v:0 -fps_mode passthrough -pix_fmt rgb24 -compression_level 1 "$work/out/frame_%06d.png"
ratio vpipe_full_png ffmpeg_full_png

k=$(( (n + 9) / 10 ))
measure vpipe_step10 "$k" "$c" "$work/vpipe" frames "$c" -o "$work/out" --step 10
measure ffmpeg_step10 "$k" "$c" ffmpeg -nostdin -i "$c" -map 0:v:0 -vf "select=not(mod(n\,10))" -fps_mode passthrough -pix_fmt rgb24 -compression_level 1 "$work/out/frame_%06d.png"
ratio vpipe_step10 ffmpeg_step10

echo "== memory: the same job on a clip 5x longer (peak RSS must not grow with length)"
c5=$(clip $((secs * 5)))
k5x=$(( (n * 5 + 9) / 10 ))
measure vpipe_step10_5x "$k5x" "$c5" "$work/vpipe" frames "$c5" -o "$work/out" --step 10
awk '$1=="vpipe_step10" {a=$6} $1=="vpipe_step10_5x" {b=$6}
  END { d=(b-a)/a*100; printf "  peak RSS %.1f MiB -> %.1f MiB (%+.1f %%): %s\n", a/1024, b/1024, d, (d<15 && d>-15) ? "flat (< 15 %)" : "GROWS" }' "$work/results.txt"

echo "== sparse: one frame every 5 s of the 5x clip (vpipe seeks to each; ffmpeg decodes every frame)"
k150=$(( (n * 5 + 149) / 150 ))
measure vpipe_every5s "$k150" "$c5" "$work/vpipe" frames "$c5" -o "$work/out" --step 150
measure ffmpeg_every5s "$k150" "$c5" ffmpeg -nostdin -i "$c5" -map 0:v:0 -vf "select=not(mod(n\,150))" -fps_mode passthrough -pix_fmt rgb24 -compression_level 1 "$work/out/frame_%06d.png"
ratio vpipe_every5s ffmpeg_every5s
rm -rf "$work/out"
