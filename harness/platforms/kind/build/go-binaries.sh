#!/usr/bin/env bash
# Builds the Go binaries of an offline kind cluster from the Go module proxy into $1: kind CLI,
# Kubernetes (kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler
# kube-proxy), etcd, coredns, kube-router, and the pause binary (C, static). Each component writes
# a stamp (.stamp-<component> = its version) after it is built; a component whose stamp matches the
# pinned version is not rebuilt, so changing one pin rebuilds one component. Go's module and build
# caches live under $2 and may be deleted once this script has finished.
#
# Why by hand: `go install k8s.io/kubernetes/cmd/...` fails (the module's replace lines point
# at staging folders its zip lacks), and etcd's main module has relative replaces too; see
# shared notes "kubernetes-offline".
set -euo pipefail
out=${1:?usage: go-binaries.sh OUT_DIR WORK_DIR [component...]}
work=${2:?usage: go-binaries.sh OUT_DIR WORK_DIR [component...]}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
components=("$@")
[ ${#components[@]} -gt 0 ] || components=(kind kubernetes etcd coredns kube-router pause)
mkdir -p "$out" "$work"
export GOMODCACHE="$work/gomod" GOCACHE="$work/gocache" GOFLAGS=-buildvcs=false CGO_ENABLED=0
export GOTOOLCHAIN=local GOPATH="$work/gopath"
PATH=/usr/local/go/bin:$PATH
log() { echo "go-binaries: $(date +%T) $*"; }
have() { for b in "$@"; do [ -x "$out/$b" ] || return 1; done; }
# current COMPONENT VERSION: the component's stamp says it was built at that version
current() { [ "$(cat "$out/.stamp-$1" 2>/dev/null)" = "$2" ]; }
stamp() { echo "$2" >"$out/.stamp-$1"; }

# go_install COMPONENT BINARY VERSION PACKAGE: a plain `go install` at a pinned version
go_install() {
  current "$1" "$3" && have "$2" && return
  log "$1 $3"
  GOBIN="$out" go install -trimpath -ldflags='-s -w' "$4@$3"
  stamp "$1" "$3"
}

build_kind() { go_install kind kind "$KIND_VERSION" sigs.k8s.io/kind; }

build_kubernetes() {
  local bins=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubeadm kubectl)
  current kubernetes "$KUBERNETES_VERSION" && have "${bins[@]}" && return
  current kubernetes "$KUBERNETES_VERSION" || (cd "$out" && rm -f "${bins[@]}")
  log "kubernetes $KUBERNETES_VERSION"
  local v=$KUBERNETES_VERSION minor=${KUBERNETES_VERSION#v1.}
  go mod download -json "k8s.io/kubernetes@$v" >/dev/null
  local src="$work/kubernetes-src"
  rm -rf "$src"
  cp -r "$GOMODCACHE/k8s.io/kubernetes@$v" "$src"
  chmod -R u+w "$src"
  cd "$src"
  rm -f go.work go.work.sum
  local staging=0.${v#v1.}
  local edits=()
  for m in $(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' go.mod); do
    edits+=("-dropreplace=$m" "-require=$m@v$staging")
  done
  go mod edit "${edits[@]}"
  local pkgs=()
  for b in "${bins[@]}"; do [ -x "$out/$b" ] || pkgs+=("./cmd/$b"); done
  local ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=${minor%%.*}"
    ld="$ld -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath -ldflags "$ld" -o "$out/" "${pkgs[@]}"
  cd - >/dev/null
  rm -rf "$src"
  stamp kubernetes "$KUBERNETES_VERSION"
}

build_etcd() {
  current etcd "$ETCD_VERSION" && have etcd && return
  log "etcd $ETCD_VERSION"
  local mod="$work/etcd-mod"
  rm -rf "$mod" && mkdir -p "$mod" && cd "$mod"
  go mod init harness.local/etcd >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null
  go build -trimpath -ldflags='-s -w' -o "$out/etcd" go.etcd.io/etcd/server/v3
  cd - >/dev/null
  rm -rf "$mod"
  stamp etcd "$ETCD_VERSION"
}

build_coredns() { go_install coredns coredns "$COREDNS_VERSION" github.com/coredns/coredns; }

build_kube_router() {
  go_install kube-router kube-router "$KUBE_ROUTER_VERSION" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
}

build_pause() {
  current pause "$KUBERNETES_VERSION" && have pause && return
  log "pause (from the kubernetes module's build/pause/linux/pause.c)"
  go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" >/dev/null
  gcc -Os -static -o "$out/pause" \
    "$GOMODCACHE/k8s.io/kubernetes@$KUBERNETES_VERSION/build/pause/linux/pause.c" \
    -DVERSION="$KUBERNETES_VERSION"
  strip "$out/pause" || true
  stamp pause "$KUBERNETES_VERSION"
}

for c in "${components[@]}"; do
  case $c in
    kind) build_kind ;;
    kubernetes) build_kubernetes ;;
    etcd) build_etcd ;;
    coredns) build_coredns ;;
    kube-router) build_kube_router ;;
    pause) build_pause ;;
    *) echo "go-binaries: unknown component $c" >&2; exit 4 ;;
  esac
done
log "done: $(ls "$out" | tr '\n' ' ')"
