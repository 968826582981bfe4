# Helpers shared by scripts/setup.sh and scripts/setup-tests.sh (sourced, not run).

# apt_need PKG...: installs with apt-get the packages not yet installed.
apt_need() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: apt-get install ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# go_need: fails with a hint unless Go (>= 1.26, for nats.go) is on PATH.
go_need() {
  command -v go >/dev/null 2>&1 && return 0
  if [ -x /usr/local/go/bin/go ]; then
    echo "setup: Go is in /usr/local/go/bin; add it to PATH: export PATH=\$PATH:/usr/local/go/bin" >&2
  else
    echo "setup: Go >= 1.26 is needed (https://go.dev/doc/install)" >&2
  fi
  exit 1
}

# go_modules: downloads the Go modules the build and the tests need, with a
# count as they come (go mod download itself is silent until it is done).
go_modules() {
  local start=$SECONDS
  echo "setup: Go modules: downloading those not yet in $(go env GOMODCACHE) (go.sum lists $(grep -vc '/go.mod ' go.sum))" >&2
  go mod download -x 2>&1 | awk -v tty="$([ -t 2 ] && echo 1)" '
    /\.zip: 200 OK/ { n++; m = $3; sub(/^[a-z]+:\/\/[^\/]*\//, "", m); sub(/\.zip:$/, "", m); sub(/\/@v\//, "@", m); gsub(/%21/, "!", m)
      while (match(m, /![a-z]/)) m = substr(m, 1, RSTART - 1) toupper(substr(m, RSTART + 1, 1)) substr(m, RSTART + 2)
      if (tty) printf "\r  %d downloaded: %-70.70s", n, m > "/dev/stderr"
      else if (n % 10 == 0) printf "  %d downloaded (last: %s)\n", n, m > "/dev/stderr"
      next }
    /^# get / || /^mkdir / || /^cd / || /^rm / || /^unzip / { next }
    { print > "/dev/stderr" }
    END { if (tty && n) printf "\n" > "/dev/stderr"
      if (n) printf "setup: Go modules: %d downloaded", n > "/dev/stderr"
      else printf "setup: Go modules: all already there" > "/dev/stderr" }'
  echo " ($((SECONDS - start)) s)" >&2
}

# go_tool NAME VERSION PACKAGE OVERRIDE_VAR: builds a Go-written tool the tests
# start into ~/.cache/vpipe-tools/bin, once (skipped when the binary is there,
# or when the environment variable named OVERRIDE_VAR names an executable).
go_tool() {
  local name=$1 version=$2 pkg=$3 override=${!4:-}
  local tools="$HOME/.cache/vpipe-tools/bin"
  if [ -n "$override" ]; then
    [ -x "$override" ] || { echo "setup: $4=$override is not an executable" >&2; exit 1; }
    echo "setup: $name: $override ($4)" >&2
    return 0
  fi
  if [ -x "$tools/$name" ]; then
    echo "setup: $name: $tools/$name (already built)" >&2
    return 0
  fi
  echo "setup: building $name $version into $tools (once; a few minutes on 2 cores)" >&2
  mkdir -p "$tools"
  local start=$SECONDS
  (cd / && GOBIN="$tools" go install "$pkg@$version")
  echo "setup: $name built ($((SECONDS - start)) s)" >&2
}

# npm_tool NAME PACKAGE VERSION BIN OVERRIDE_VAR: installs an npm-published
# tool the tests start into ~/.cache/vpipe-tools/PACKAGE, once, and links its
# command BIN as ~/.cache/vpipe-tools/bin/NAME (skipped when that link is
# there, or when the environment variable named OVERRIDE_VAR names an executable).
npm_tool() {
  local name=$1 pkg=$2 version=$3 bin=$4 override=${!5:-}
  local tools="$HOME/.cache/vpipe-tools"
  if [ -n "$override" ]; then
    [ -x "$override" ] || { echo "setup: $5=$override is not an executable" >&2; exit 1; }
    echo "setup: $name: $override ($5)" >&2
    return 0
  fi
  if [ -x "$tools/bin/$name" ]; then
    echo "setup: $name: $tools/bin/$name (already installed)" >&2
    return 0
  fi
  command -v npm >/dev/null 2>&1 || { echo "setup: $name needs node and npm (apt-get install nodejs npm)" >&2; exit 1; }
  local start=$SECONDS
  mkdir -p "$tools/bin"
  local log
  log=$(npm install --no-audit --no-fund --loglevel=error --prefix "$tools/$pkg" "$pkg@$version" 2>&1) ||
    { echo "setup: npm install $pkg@$version failed:" >&2; echo "$log" >&2; exit 1; }
  ln -sf "$tools/$pkg/node_modules/.bin/$bin" "$tools/bin/$name"
  echo "setup: $name: $pkg $version installed with npm into $tools/$pkg ($((SECONDS - start)) s)" >&2
}

# npm_lib NAME PACKAGE VERSION OVERRIDE_VAR: installs an npm-published library
# the tests import (it has no command) into ~/.cache/vpipe-tools/NAME, once
# (skipped when its package.json is there, or when the environment variable
# named OVERRIDE_VAR names a folder holding the package); the tests import
# ~/.cache/vpipe-tools/NAME/node_modules/PACKAGE.
npm_lib() {
  local name=$1 pkg=$2 version=$3 override=${!4:-}
  local dir="$HOME/.cache/vpipe-tools/$name"
  if [ -n "$override" ]; then
    [ -f "$override/package.json" ] || { echo "setup: $4=$override holds no package.json" >&2; exit 1; }
    echo "setup: $name: $override ($4)" >&2
    return 0
  fi
  if [ -f "$dir/node_modules/$pkg/package.json" ]; then
    echo "setup: $name: $dir/node_modules/$pkg (already installed)" >&2
    return 0
  fi
  command -v npm >/dev/null 2>&1 || { echo "setup: $name needs node and npm (apt-get install nodejs npm)" >&2; exit 1; }
  local start=$SECONDS
  mkdir -p "$dir"
  local log
  log=$(npm install --no-audit --no-fund --loglevel=error --prefix "$dir" "$pkg@$version" 2>&1) ||
    { echo "setup: npm install $pkg@$version failed:" >&2; echo "$log" >&2; exit 1; }
  echo "setup: $name: $pkg $version installed with npm into $dir ($((SECONDS - start)) s)" >&2
}
