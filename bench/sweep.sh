#!/usr/bin/env bash
# Checks that the default stage sizes are within 5 % of the best hand-tuned
# ones: runs one job (every frame of a camera-like 1080p clip to PNG, full size
# and 640x360) with the defaults and with each variant below, and prints
# frames/s, the ratio to the default, and the stage --report names as the
# bottleneck. Run by hand on a quiet machine (check `uptime`): bench/sweep.sh [seconds, default 10] [rounds, default 2]
# Needs scripts/setup-tests.sh (the ffmpeg CLI, GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
rounds=${2:-2}
work=bench/work
mkdir -p "$work"
go build -o "$work/vpipe" ./cmd/vpipe
n=$(nproc)

clip="$work/camera_1080p30_${secs}s.mp4"
if [ ! -s "$clip" ]; then
  echo "building $clip ..." >&2
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=s=1920x1080:r=30:d=$secs" -vf "noise=alls=6:allf=t" \
    -c:v libx264 -preset veryfast -bf 3 -g 60 -b:v 8M -pix_fmt yuv420p "$clip"
fi

# a config with nothing but the source and sink: every stage key at its default
printf 'source: {type: local}\nsink: {type: local}\n' > "$work/sweep.yaml"

# variants: a name and --set arguments (the defaults are the first)
variants=(
  "default|"
  "encode+1|stages.encode.workers=$((n + 1))"
  "encode-1|stages.encode.workers=$((n > 1 ? n - 1 : 1))"
  "resize/2|stages.resize.workers=$((n > 1 ? n / 2 : 1))"
  "decode.threads=1|stages.decode.threads=1"
  "decode.threads=$n|stages.decode.threads=$n"
  "queues=1|stages.decode.queue=1 stages.resize.queue=1 stages.encode.queue=1 stages.write.queue=1"
  "queues=$((2 * n))|stages.decode.queue=$((2 * n)) stages.resize.queue=$((2 * n)) stages.encode.queue=$((2 * n)) stages.write.queue=$((2 * n))"
  "write=1|stages.write.workers=1"
)

one() { # one SIZE SETS... -> "fps bottleneck rss_mib"
  local size=$1; shift
  local sets=(--set "source.path=$clip" --set "sink.path=$work/sweep-out" --set "sampling.resize.width=${size%x*}" --set "sampling.resize.height=${size#*x}")
  for s in "$@"; do sets+=(--set "$s"); done
  rm -rf "$work/sweep-out"
  /usr/bin/time -o "$work/sweep-time.txt" -f "%M" "$work/vpipe" run "$work/sweep.yaml" "${sets[@]}" --report "$work/sweep.json" >/dev/null 2>&1
  local fps b
  fps=$(grep -o '"frames_per_s": [0-9.]*' "$work/sweep.json" | cut -d' ' -f2)
  b=$(grep -o '"bottleneck": "[a-z]*"' "$work/sweep.json" | cut -d'"' -f4)
  echo "$fps $b $(awk '{printf "%.0f", $1/1024}' "$work/sweep-time.txt")"
}

echo "== $clip, $n cores, $rounds rounds (best of), load: $(uptime | sed 's/.*load average: //')"
for size in 0x0 640x360; do
  echo "-- output $size"
  base=""
  for v in "${variants[@]}"; do
    name=${v%%|*}
    read -r -a sets <<<"${v#*|}"
    best=0 bn="" rss=""
    for ((r = 0; r < rounds; r++)); do
      read -r fps b m <<<"$(one "$size" "${sets[@]}")"
      if awk -v a="$fps" -v b="$best" 'BEGIN{exit !(a>b)}'; then best=$fps bn=$b rss=$m; fi
    done
    [ -z "$base" ] && base=$best
    awk -v n="$name" -v f="$best" -v b="$base" -v s="$bn" -v m="$rss" \
      'BEGIN { printf "  %-22s %7.1f frames/s  %5.2fx default  %4d MiB peak RSS  held back by %s\n", n, f, f/b, m, s }'
  done
done
rm -rf "$work/sweep-out"
