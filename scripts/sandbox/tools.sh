#!/usr/bin/env bash
# Builds or installs the sandbox's real components once, into a cache outside the repo, keyed by version.
# Prints one progress line per step; a warm run only checks that the binaries exist.
# Usage: scripts/sandbox/tools.sh [all|moto|etcd|kube-apiserver|pulumi]   -> prints KEY=path lines on stdout at the end.
set -euo pipefail

MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.8}"
K8S_VERSION="${K8S_VERSION:-1.34.4}"
PULUMI_VERSION="${PULUMI_VERSION:-3.274.1}"

CACHE="${LBC_SG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lbc-backend-sg}"
mkdir -p "$CACHE"
log() { echo "[tools] $*" >&2; }
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
export CGO_ENABLED=0

# Runs a step with a ticking progress line so a cold build (minutes) visibly moves.
with_progress() {
  local what="$1"; shift
  local start=$SECONDS
  ( while sleep 30; do log "  … $what: $((SECONDS - start))s"; done ) &
  local ticker=$!
  local rc=0
  "$@" || rc=$?
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  if [ "$rc" != 0 ]; then log "FAILED: $what (exit $rc)"; return "$rc"; fi
  log "  done: $what in $((SECONDS - start))s"
}

ensure_moto() {
  local dir="$CACHE/moto-$MOTO_VERSION"
  if [ -x "$dir/venv/bin/moto_server" ] && [ -f "$dir/.ok" ]; then log "moto $MOTO_VERSION: cached"; echo "MOTO_SERVER=$dir/venv/bin/moto_server"; return; fi
  log "moto $MOTO_VERSION: creating venv in $dir"
  rm -rf "$dir"; mkdir -p "$dir"
  python3 -m venv "$dir/venv"
  with_progress "pip install moto[server]==$MOTO_VERSION" \
    "$dir/venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  touch "$dir/.ok"
  echo "MOTO_SERVER=$dir/venv/bin/moto_server"
}

ensure_etcd() {
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/etcd" ]; then echo "ETCD=$KUBEBUILDER_ASSETS/etcd"; return; fi
  local dir="$CACHE/etcd-$ETCD_VERSION"
  if [ -x "$dir/etcd" ]; then log "etcd $ETCD_VERSION: cached"; echo "ETCD=$dir/etcd"; return; fi
  log "etcd $ETCD_VERSION: building from its Go module (first run only)"
  local work; work=$(mktemp -d)
  mkdir -p "$dir"
  (
    cd "$work"
    go mod init lbc-sg-etcd-wrapper >/dev/null 2>&1
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>&1
    with_progress "go build etcd" go build -trimpath -o "$dir/etcd.tmp" go.etcd.io/etcd/server/v3
  )
  mv "$dir/etcd.tmp" "$dir/etcd"; rm -rf "$work"
  echo "ETCD=$dir/etcd"
}

ensure_kube_apiserver() {
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/kube-apiserver" ]; then echo "KUBE_APISERVER=$KUBEBUILDER_ASSETS/kube-apiserver"; return; fi
  local dir="$CACHE/kube-apiserver-$K8S_VERSION"
  if [ -x "$dir/kube-apiserver" ]; then log "kube-apiserver $K8S_VERSION: cached"; echo "KUBE_APISERVER=$dir/kube-apiserver"; return; fi
  log "kube-apiserver $K8S_VERSION: building from k8s.io/kubernetes (first run only, several minutes)"
  local work; work=$(mktemp -d)
  mkdir -p "$dir"
  local minor="0.${K8S_VERSION#1.}"
  (
    cd "$work"
    # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them locally; a consumer must
    # replace each with the published v0.Y.Z of the same release.
    {
      echo "module lbc-sg-kube-apiserver-wrapper"
      echo "go 1.24"
      echo "require k8s.io/kubernetes v$K8S_VERSION"
      for m in api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider cluster-bootstrap \
        code-generator component-base component-helpers controller-manager cri-api cri-client csi-translation-lib \
        dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy \
        kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission sample-apiserver sample-cli-plugin \
        sample-controller; do
        echo "replace k8s.io/$m => k8s.io/$m v$minor"
      done
    } > go.mod
    echo 'package tools' > tools.go
    echo 'import _ "k8s.io/kubernetes/cmd/kube-apiserver/app"' >> tools.go
    with_progress "resolve k8s.io/kubernetes modules" go mod tidy
    with_progress "go build kube-apiserver" go build -trimpath -ldflags "-s -w" -o "$dir/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  )
  mv "$dir/kube-apiserver.tmp" "$dir/kube-apiserver"; rm -rf "$work"
  echo "KUBE_APISERVER=$dir/kube-apiserver"
}

ensure_pulumi() {
  if command -v pulumi >/dev/null 2>&1; then
    local have; have=$(pulumi version 2>/dev/null | sed 's/^v//')
    if [ -n "$have" ] && [ "$(printf '%s\n%s\n' "3.200.0" "$have" | sort -V | head -1)" = "3.200.0" ]; then
      log "pulumi $have: found on PATH"; echo "PULUMI_BIN_DIR=$(dirname "$(command -v pulumi)")"; return
    fi
  fi
  local dir="$CACHE/pulumi-$PULUMI_VERSION"
  if [ -x "$dir/pulumi" ] && [ -f "$dir/.ok" ]; then log "pulumi $PULUMI_VERSION: cached"; echo "PULUMI_BIN_DIR=$dir"; return; fi
  log "pulumi $PULUMI_VERSION: building the CLI and the Node language host (first run only, several minutes)"
  local work; work=$(mktemp -d)
  mkdir -p "$dir"
  (
    cd "$work"
    cat > go.mod <<GOMOD
module lbc-sg-pulumi-wrapper
go 1.24
require (
  github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION
  github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION
)
replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
GOMOD
    printf 'package tools\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' > tools.go
    with_progress "resolve pulumi modules" go mod tidy
    with_progress "go build pulumi" go build -trimpath \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
      -o "$dir/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  )
  rm -rf "$work"
  # The Node language host is its own, untagged module: it can only be asked for by the pseudo-version of the
  # release commit, which the module proxy reports as Origin.Hash when it knows it. Without it, programs run as
  # inline Automation API programs, which need no language host.
  local hash
  hash=$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION" 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin).get("Origin",{}).get("Hash",""))' 2>/dev/null || true)
  hash="${PULUMI_LANGUAGE_NODEJS_COMMIT:-$hash}"
  if [ -n "$hash" ]; then
    work=$(mktemp -d)
    (
      cd "$work"
      go mod init lbc-sg-langhost-wrapper >/dev/null 2>&1
      with_progress "resolve pulumi-language-nodejs@$hash" go get "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3@$hash"
      with_progress "go build pulumi-language-nodejs" go build -trimpath \
        -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
        -o "$dir/pulumi-language-nodejs" github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
    ) || log "pulumi-language-nodejs could not be built; programs run inline through the Automation API"
    rm -rf "$work"
  else
    log "pulumi-language-nodejs: the module proxy gives no release commit for v$PULUMI_VERSION; programs run inline through the Automation API"
  fi
  touch "$dir/.ok"
  echo "PULUMI_BIN_DIR=$dir"
}

what="${1:-all}"
case "$what" in
  moto) ensure_moto ;;
  etcd) ensure_etcd ;;
  kube-apiserver) ensure_kube_apiserver ;;
  pulumi) ensure_pulumi ;;
  all) ensure_moto; ensure_etcd; ensure_kube_apiserver; ensure_pulumi ;;
  *) echo "usage: $0 [all|moto|etcd|kube-apiserver|pulumi]" >&2; exit 2 ;;
esac
