"""Faults on this host and how they are undone: the undo log, its kinds, process and cgroup helpers.

Shared by every platform that hurts something: ``local`` (refsys processes), and any platform
that pauses or limits a process it did not start itself (PIDs an external target names).
Platform-specific kinds (the local fault proxy, a cluster's pods) are registered by their
platform (``harness.platforms.undo_kinds()``); this package knows only the host-level ones.
"""
