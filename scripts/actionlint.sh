#!/usr/bin/env bash
# actionlint (GitHub Actions workflow linter), built once from its Go module into a cache outside the repository.
#   bash scripts/actionlint.sh --path   build if needed, print the binary's path
#   bash scripts/actionlint.sh FILES…   lint
set -euo pipefail
version=v1.7.12
dir="${LBC_SG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lbc-backend-sg}/actionlint-$version"
bin="$dir/actionlint"
if [ ! -x "$bin" ]; then
  echo "[tools] building actionlint $version from github.com/rhysd/actionlint (go install)" >&2
  mkdir -p "$dir"
  GOBIN="$dir" GOFLAGS=-mod=mod go install "github.com/rhysd/actionlint/cmd/actionlint@$version" >&2
fi
if [ "${1:-}" = "--path" ]; then
  echo "$bin"
  exit 0
fi
exec "$bin" "$@"
