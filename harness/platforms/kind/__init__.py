"""The reference system on a kind cluster with GPU-emulated nodes (``--platform kind``).

Modules, in the order ``harness up --platform kind`` uses them:

* ``cache``      the cache folder, pinned versions, content keys
* ``host``       the docker daemon (found, or started and stopped by us) and this host's capability gaps
* ``ledger``     undo journal of every cluster-level change (a killed run is healed by the next start)
* ``toolchain``  kind CLI + Kubernetes binaries: found on PATH or built from the Go module proxy
* ``nodeimage``  kindest/node pulled, or an offline node image built from Debian packages + binaries
* ``images``     the reference system's images (gateway, inference, postgres, redis, GPU plugin)
* ``cluster``    kind config (1 control plane + 3 workers, 2 GPU-labelled and tainted), create/delete
* ``manifests``  fixtures/refsys/k8s rendered (defects, secrets) and server-side applied
* ``platform``   ``KindPlatform``: start/stop/status/faults through the same ``Target`` as local
"""
