#!/bin/sh
# runc wrapper for hosts whose capability bounding set lacks capabilities that privileged
# containers ask for (measured: a VM without CAP_SYS_RESOURCE, where `docker run --privileged`
# fails "unable to apply caps: operation not permitted"). It removes the capabilities this host
# cannot grant from the OCI bundle's config.json (create/run) and from the --process file
# (exec), then execs the real runc. Installed only where the capability is really missing;
# @DROP_CAPS@ and @REAL_RUNC@ are filled in at install time. No library does this: it is the
# runtime hook dockerd/containerd call, and it must stay a tiny static script.
drop='@DROP_CAPS@'
real='@REAL_RUNC@'
strip_caps() {  # $1 = JSON file, $2 = jq path of the capabilities object
  [ -f "$1" ] || return 0
  tmp="$1.capfix.$$"
  jq --argjson drop "$drop" \
    "if $2 then $2 |= with_entries(.value |= ((. // []) - \$drop)) else . end" "$1" >"$tmp" \
    && cat "$tmp" >"$1"
  rm -f "$tmp"
}
cmd=''
bundle='.'
process=''
prev=''
for arg in "$@"; do
  case $prev in
    --bundle|-b) bundle=$arg ;;
    --process|-p) process=$arg ;;
  esac
  case $arg in
    --bundle=*) bundle=${arg#--bundle=} ;;
    --process=*) process=${arg#--process=} ;;
    create|run|exec) [ -z "$cmd" ] && cmd=$arg ;;
  esac
  prev=$arg
done
case $cmd in
  create|run) strip_caps "$bundle/config.json" '.process.capabilities' ;;
  exec) [ -n "$process" ] && strip_caps "$process" '.capabilities' ;;
esac
exec "$real" "$@"
