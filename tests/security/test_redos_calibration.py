"""The ReDoS probe's offline search: it finds the input a backtracking pattern explodes on, finds none for a
linear pattern, and a search that outruns its bound is inconclusive rather than a pass."""

import pytest

from harness.security.probes.redos import LOCAL_TARGET_S, CalibrationTimeout, find_attack

NESTED = r"^([A-Za-z0-9]+-?)*$"  # the tickets app's published pattern: exponential in Python's re
LINEAR = r"^[A-Za-z0-9-]*$"  # the same language without nested quantifiers


def test_nested_quantifiers_yield_an_attack_that_costs_the_target_cpu_time() -> None:
    attack = find_attack(NESTED)
    assert attack is not None
    assert attack.local_s >= LOCAL_TARGET_S
    assert len(attack.benign) == len(attack.text) and attack.benign[0] == "!"


def test_a_linear_pattern_yields_nothing_to_send() -> None:
    assert find_attack(LINEAR) is None


def test_a_search_that_outruns_its_bound_is_not_taken_for_a_safe_pattern() -> None:
    with pytest.raises(CalibrationTimeout, match="took over"):
        find_attack(NESTED, timeout_s=0.05)
