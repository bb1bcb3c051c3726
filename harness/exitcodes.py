"""Process exit codes, exactly as the table in DESIGN.md.

They deliberately line up with pytest's own codes (0-5) so that a plain ``pytest``
run and ``harness run`` agree; 6 is the harness's own addition.
"""

from enum import IntEnum


class ExitCode(IntEnum):
    READY = 0  # every blocking check passed, level reached, no regression
    NOT_READY = 1  # a blocking check failed, level missed, regression, new high finding
    ABORTED = 2  # interrupted or a guardrail fired (partial report still written)
    INTERNAL_ERROR = 3  # harness internal error
    USAGE_ERROR = 4  # bad flags, malformed scenario/policy/claims file
    NOTHING_RAN = 5  # nothing ran
    INCONCLUSIVE = 6  # steady state failed before any fault, or generator unhealthy
