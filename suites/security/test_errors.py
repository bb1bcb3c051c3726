"""Error leakage and inventory (API8, API9:2023)."""

from harness.security.probes import errors


def test_error_leakage_and_inventory(probe_ctx, record_probes):
    record_probes(errors.run(probe_ctx))
