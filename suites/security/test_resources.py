"""Unrestricted resource consumption (API4:2023) and SSRF (API7:2023)."""

from harness.security.probes import resources, ssrf


def test_resource_limits(probe_ctx, record_probes):
    record_probes(resources.run(probe_ctx))


def test_ssrf(probe_ctx, record_probes):
    record_probes(ssrf.run(probe_ctx))
