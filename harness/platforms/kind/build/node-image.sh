#!/usr/bin/env bash
# Builds a kind node image without pulling anything: what `kind build node-image` does, by hand,
# because kind always fetches etcd/coredns/pause/kindnetd images from a registry (see shared notes
# "kubernetes-offline"). Inputs: the binaries from go-binaries.sh and the root filesystem from
# node-rootfs.sh. Output: docker images $IMAGE (the node) and $IMAGE-addons (kube-proxy and
# kube-router: they need iptables/ipset, so they share the node's Debian base layer).
#
#   node-image.sh BIN_DIR ROOTFS_TAR WORK_DIR IMAGE
set -euo pipefail
bin=${1:?BIN_DIR}; rootfs_tar=${2:?ROOTFS_TAR}; work=${3:?WORK_DIR}; image=${4:?IMAGE}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
log() { echo "node-image: $(date +%T) $*"; }
mkdir -p "$work"
base="$image-base"

import_base() {
  if docker image inspect "$base" >/dev/null 2>&1; then return; fi
  log "docker import $base"
  docker import \
    --change 'ENV container=docker' \
    --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
    "$rootfs_tar" "$base" >/dev/null
}

# a one-binary image: /usr/local/bin/NAME (+ passwd/group so tools that look up users work)
binary_image() {  # NAME TAG [ENTRYPOINT_JSON]
  local name=$1 tag=$2 entry=${3:-} dir
  dir=$(mktemp -d "$work/img.XXXX")
  mkdir -p "$dir/usr/local/bin" "$dir/etc" "$dir/tmp" "$dir/var/run"
  chmod 1777 "$dir/tmp"
  cp "$bin/$name" "$dir/usr/local/bin/$name"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$dir/etc/group"
  local changes=(--change 'ENV PATH=/usr/local/bin:/usr/bin:/bin')
  [ -n "$entry" ] && changes+=(--change "ENTRYPOINT $entry")
  tar -C "$dir" --numeric-owner --owner=0 --group=0 -cf - . | docker import "${changes[@]}" - "$tag" >/dev/null
  rm -rf "$dir"
}

# images kubeadm and kind's CNI slot expect, made from the built binaries
control_plane_images() {
  local list
  list=$("$bin/kubeadm" config images list --kubernetes-version "$KUBERNETES_VERSION" 2>/dev/null)
  log "kubeadm wants: $(echo "$list" | tr '\n' ' ')"
  local ref name
  for ref in $list; do
    name=${ref##*/}; name=${name%%:*}
    case $name in
      kube-apiserver|kube-controller-manager|kube-scheduler) binary_image "$name" "$ref" ;;
      etcd) binary_image etcd "$ref" ;;
      coredns) binary_image coredns "$ref" '["/usr/local/bin/coredns"]' ;;
      pause) binary_image pause "$ref" '["/usr/local/bin/pause"]' ;;
      kube-proxy) ;;  # needs iptables: built FROM the node base below
      *) echo "node-image: no recipe for $ref" >&2; exit 3 ;;
    esac
  done
  PAUSE_REF=$(echo "$list" | grep /pause:)
  PROXY_REF=$(echo "$list" | grep /kube-proxy:)
  IMAGES=$(echo "$list" | tr '\n' ' ')
  # kube-proxy and kube-router run iptables/ipset: they share the node's Debian base layer
  local ctx
  ctx=$(mktemp -d "$work/ctx.XXXX")
  cp "$bin/kube-proxy" "$bin/kube-router" "$ctx/"
  printf 'FROM %s\nCOPY kube-proxy kube-router /usr/local/bin/\nENTRYPOINT []\n' "$base" >"$ctx/Dockerfile"
  docker build -q -t "$PROXY_REF" "$ctx" >/dev/null
  docker tag "$PROXY_REF" "$image-addons"
  rm -rf "$ctx"
}

assemble_node() {
  log "node: binaries to /usr/bin, images into the node's containerd"
  local id="harness-node-build-$$"
  docker rm -f "$id" >/dev/null 2>&1 || true
  trap 'docker rm -f '"$id"' >/dev/null 2>&1 || true' EXIT
  docker run -d --name "$id" --entrypoint=sleep --security-opt seccomp=unconfined "$base" infinity >/dev/null
  for b in kubeadm kubelet kubectl; do docker cp "$bin/$b" "$id:/usr/bin/$b"; done
  [ -x "$bin/crictl" ] && docker cp "$bin/crictl" "$id:/usr/local/bin/crictl"
  echo -n "$KUBERNETES_VERSION" | docker exec -i "$id" sh -c 'cat > /kind/version'
  docker exec "$id" sed -i "s#sandbox_image = .*#sandbox_image = \"$PAUSE_REF\"#" /etc/containerd/config.toml
  docker exec "$id" bash -c 'nohup containerd >/tmp/containerd.log 2>&1 &'
  docker exec "$id" bash -c 'for i in $(seq 50); do [ -S /run/containerd/containerd.sock ] && ctr version >/dev/null 2>&1 && exit 0; sleep 0.2; done; cat /tmp/containerd.log; exit 1'
  # shellcheck disable=SC2086
  docker save $IMAGES "$image-addons" | docker exec -i "$id" ctr --namespace=k8s.io images import \
    --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests - >/dev/null
  docker exec "$id" ctr --namespace=k8s.io images list -q | sed 's/^/node-image:   /'
  docker exec "$id" pkill containerd || true
  sleep 1
  docker exec "$id" rm -rf /tmp/containerd.log
  docker commit \
    --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
    "$id" "$image" >/dev/null
  docker rm -f "$id" >/dev/null
  trap - EXIT
}

import_base
control_plane_images
assemble_node
log "done: $image"
