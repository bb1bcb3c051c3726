"""The security suite's registry: every probe group and rule, collected explicitly.

``load_all_probes()`` is the one list of probe modules (``GROUP`` of each), in the order a full run
takes them: groups that spend a budget on the target (the rate-limit claim) last;
``load_all_rules()`` the rule catalogue SARIF and the policy's per-rule overrides are keyed by. A plugin
with probes of its own registers their groups on the registry these return.
"""

from __future__ import annotations

from harness.registry import Registry
from harness.security.catalog import ProbeGroup, Rule
from harness.security.probes import (
    authz,
    cookies,
    cors,
    csrf,
    errors,
    headers,
    injection,
    jwt,
    ratelimit,
    resources,
    ssrf,
)

BUILTIN_GROUPS = (headers.GROUP, cookies.GROUP, cors.GROUP, csrf.GROUP, injection.GROUP, jwt.GROUP, authz.GROUP,
                  resources.GROUP, ssrf.GROUP, errors.GROUP, ratelimit.GROUP)


def register_builtin_probes(registry: Registry[ProbeGroup]) -> Registry[ProbeGroup]:
    for group in BUILTIN_GROUPS:
        registry.register(group.name, group)
    return registry


def load_all_probes() -> Registry[ProbeGroup]:
    return register_builtin_probes(Registry("probe group"))


def load_all_rules() -> dict[str, Rule]:
    """Every rule of every probe group, by id (sorted)."""
    rules: dict[str, Rule] = {}
    for group in load_all_probes().values():
        for rule in group.rules:
            if rules.setdefault(rule.id, rule) is not rule:
                raise ValueError(f"rule {rule.id!r} is declared twice")
    return dict(sorted(rules.items()))
