"""Gate policies moved to ``harness.gate.policy`` (v2: rules, levels, waivers, baseline tolerances).

Kept so ``from harness.policy import …`` (security suite, plugin) still works.
"""

from harness.gate.policy import Policy, SecurityPolicy, load_policy

__all__ = ["Policy", "SecurityPolicy", "load_policy"]
