"""Claims -> verdicts: what a status report claims, verified with the claim's own numbers.

- ``model``: claims files (``scenarios/claims/*.yaml``), ``load_claims_file``;
- ``parameters``: the numbers a claim hands to the checks that verify it;
- ``runs``: which numbers a suite runs a check with (its own, and each claim that states others);
- ``fold``: ``fold_claims(run, claims)`` -> one ``ClaimResult`` per claim, from the run's recorded checks;
- ``extract``: ``harness claims extract STATUS.md``, a claims file drafted from a markdown report.
"""

from harness.claims.fold import fold_claims
from harness.claims.model import Claim, ClaimsFile, load_claims_file

__all__ = ["Claim", "ClaimsFile", "fold_claims", "load_claims_file"]
