"""Probe modules: each declares its rules (``RULES``) and its entry point (``GROUP``).

Importing a probe module registers nothing; ``harness.security.registry.load_all_probes()`` lists them.
"""
