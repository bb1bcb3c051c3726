"""The contract suite's library: Schemathesis 4 against a target's OpenAPI, results as Checks and Findings.

``run_contract(target, profile, out_dir=..., seed=...)`` runs; ``all_checks(run)`` and ``findings(run)``
turn the run into the harness data model; ``load_contract_profile(name)`` reads ``scenarios/contract/``.
"""

from harness.contract.checks import all_checks, check_id, findings, write_run_artifact
from harness.contract.profile import ContractProfile, NoiseRule, load_contract_profile
from harness.contract.runner import ContractRun, run_contract

__all__ = ["ContractProfile", "ContractRun", "NoiseRule", "all_checks", "check_id", "findings",
           "load_contract_profile", "run_contract", "write_run_artifact"]
