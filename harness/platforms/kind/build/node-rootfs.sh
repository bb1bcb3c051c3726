#!/usr/bin/env bash
# The Debian root filesystem of an offline kind node: debootstrap (minbase + systemd, containerd,
# runc, CNI plugins, iptables, ipset) + kind's base files (from the kind module) + the steps of kind's
# base Dockerfile, written as a tarball. Slow part of the node image (~2 min), cached separately.
#
#   node-rootfs.sh KIND_SRC WORK_DIR TARBALL DROP_CAPS_JSON
#
# DROP_CAPS_JSON: '[]' on a normal host; '["CAP_SYS_RESOURCE"]' where the capability bounding
# set lacks it — then runc inside the node is wrapped (privileged pods) and containerd restricts
# oom_score_adj (pod sandboxes cannot lower it without CAP_SYS_RESOURCE).
set -euo pipefail
kind_src=${1:?KIND_SRC}; work=${2:?WORK_DIR}; tarball=${3:?TARBALL}; drop_caps=${4:-[]}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
log() { echo "node-rootfs: $(date +%T) $*"; }
mkdir -p "$work"

mirror() {  # the Debian mirror this host's apt uses (never hard-coded)
  local uri
  uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -1 || true)
  [ -n "$uri" ] || uri=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | head -1 || true)
  echo "$uri"
}

build_rootfs() {
  local rootfs="$work/rootfs"
  {
    log "debootstrap $DEBIAN_SUITE (minbase + systemd, containerd, runc, CNI plugins, iptables)"
    rm -rf "$rootfs"
    local pkgs=systemd,containerd,runc,containernetworking-plugins,conntrack,iptables,ipset,iproute2
    pkgs=$pkgs,ethtool,util-linux,mount,kmod,libseccomp2,pigz,bash,ca-certificates,curl,jq,procps,socat
    # shellcheck disable=SC2046
    debootstrap --variant=minbase --include="$pkgs" "$DEBIAN_SUITE" "$rootfs" $(mirror) >"$work/debootstrap.log" 2>&1 \
      || { tail -20 "$work/debootstrap.log"; exit 1; }
    for m in proc sys dev/pts dev; do umount -l "$rootfs/$m" 2>/dev/null || true; done
    log "kind base files and the steps of kind's base Dockerfile"
    local files="$kind_src/images/base/files"
    install -m 0755 "$files"/usr/local/bin/* "$rootfs/usr/local/bin/"
    mkdir -p "$rootfs/kind/bin" "$rootfs/etc/containerd" "$rootfs/etc/kubernetes/manifests" "$rootfs/opt/cni"
    cp -r "$files"/kind/. "$rootfs/kind/"
    chmod 0755 "$rootfs/kind" "$rootfs/kind/bin" "$rootfs"/kind/bin/*
    install -m 0644 "$files"/etc/crictl.yaml "$rootfs/etc/"
    install -m 0644 "$files"/etc/containerd/config.toml "$rootfs/etc/containerd/"
    install -m 0644 "$files"/etc/default/kubelet "$rootfs/etc/default/"
    install -m 0644 "$files"/etc/sysctl.d/* "$rootfs/etc/sysctl.d/"
    mkdir -p "$rootfs/etc/systemd/system/kubelet.service.d"
    install -m 0644 "$files"/etc/systemd/system/*.service "$files"/etc/systemd/system/*.slice "$rootfs/etc/systemd/system/"
    install -m 0644 "$files"/etc/systemd/system/kubelet.service.d/* "$rootfs/etc/systemd/system/kubelet.service.d/"
    # Debian's containerd and CNI plugins live elsewhere than kind's own builds
    ln -sf /usr/bin/containerd "$rootfs/usr/local/bin/containerd"
    ln -sfn /usr/lib/cni "$rootfs/opt/cni/bin"
    find "$rootfs/lib/systemd/system/sysinit.target.wants/" -name "systemd-tmpfiles-setup.service" -delete
    rm -f "$rootfs"/lib/systemd/system/multi-user.target.wants/* "$rootfs"/etc/systemd/system/*.wants/* \
      "$rootfs"/lib/systemd/system/local-fs.target.wants/* "$rootfs"/lib/systemd/system/sockets.target.wants/*udev* \
      "$rootfs"/lib/systemd/system/sockets.target.wants/*initctl* "$rootfs"/lib/systemd/system/basic.target.wants/*
    echo "ReadKMsg=no" >>"$rootfs/etc/systemd/journald.conf"
    ln -sf /usr/lib/systemd/systemd "$rootfs/sbin/init"
    systemctl --root="$rootfs" enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1
    systemctl --root="$rootfs" mask systemd-binfmt.service >/dev/null 2>&1
    chroot "$rootfs" ctr oci spec \
      | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \
      | jq 'del(.process.rlimits)' >"$rootfs/etc/containerd/cri-base.json"
    if [ "$drop_caps" != "[]" ]; then
      log "this host cannot grant $drop_caps: runc wrapper + restrict_oom_score_adj in the node"
      sed -e "s#@DROP_CAPS@#$drop_caps#" -e "s#@REAL_RUNC@#/usr/sbin/runc#" "$here/runc-capfix.sh" \
        >"$rootfs/usr/local/sbin/runc"
      chmod 0755 "$rootfs/usr/local/sbin/runc"
      sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' "$rootfs/etc/containerd/config.toml"
    fi
    rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
      "$rootfs"/usr/share/man/* "$rootfs"/var/log/* "$rootfs"/tmp/*
    tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  }
}

build_rootfs
log "done: $tarball"
