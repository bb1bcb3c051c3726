"""Security suite library: OWASP API Top 10 probes that work from a target's OpenAPI spec and identities.

Probes are plain functions ``run(ctx) -> list[Outcome]``; the pytest suite in ``suites/security``
records each ``Outcome`` as a ``Check`` (and a ``Finding`` when it failed), and ``sarif.py``
turns findings into SARIF 2.1.0 for code-scanning UIs.
"""
