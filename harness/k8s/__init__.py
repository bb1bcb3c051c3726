"""Kubernetes checks with evidence from the API (the ``kubernetes`` suite's library).

Each check reads (or, for PDB and NetworkPolicy, exercises) the cluster through the kubernetes
client and returns a ``Verdict``: status, message and the measured facts. They work on any
cluster whose kubeconfig the target names (``Target.extra["kubeconfig"]``, set by the kind
platform); everywhere else the suite records them as not_applicable with the reason.
"""
