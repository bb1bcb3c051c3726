"""Readiness harness: turns production-readiness claims into verdicts with evidence."""

__version__ = "0.1.0"
