"""The contract suite: Schemathesis 4 fuzzes the target's OpenAPI (positive, negative, stateful)."""

from pathlib import Path
from typing import Any

from harness.suites import SuiteSpec


def check_inputs(config: Any) -> None:
    """The contract profile (and the noise files it includes) and every target noise file."""
    from harness.contract.profile import TARGETS_DIR, load_contract_profile, load_noise_file

    load_contract_profile(config.profile)
    for path in sorted(TARGETS_DIR.glob("*.yaml")):
        load_noise_file(path)

SUITE = SuiteSpec(
    name="contract",
    path=Path(__file__).parent,
    description="OpenAPI contract fuzzing with Schemathesis 4: the document is validated, then every operation "
    "is fuzzed (examples, coverage, positive/negative fuzzing, stateful via links) as the target's identities; "
    "one check per operation x schemathesis check, deduplicated findings with curl reproductions",
    default_profile="smoke",
    order=20,
    # capacity/fuzzing traffic: measure the system, not the per-user limiter (the security suite verifies that)
    # (fuzzing /auth/login with wrong passwords would otherwise lock the identities the fuzzer logs in as)
    platform_env={"REFSYS_RATE_LIMIT": "1000000", "REFSYS_TENANT_DAILY_QUOTA": "1000000",
                  "REFSYS_LOGIN_FAILURE_LIMIT": "1000000"},
    check_inputs=check_inputs,
)
