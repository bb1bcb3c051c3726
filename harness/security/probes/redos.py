"""ReDoS on pattern-validated fields: a ``pattern`` the spec publishes, fed the input that makes a
backtracking engine explode.

For each string parameter with a ``pattern`` the harness first finds, offline and in a child process with
a hard timeout, an input the pattern backtracks on catastrophically (a run of a character its repeated
groups accept, then one they do not), sized so the local match costs ~0.3-3 s. Only then is it sent once,
next to a same-length input that fails fast; the server is vulnerable when the attack is slower by more
than ``MIN_EXTRA_S``. Patterns without catastrophic backtracking are never sent anything. One request per
field, bounded by the client's timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

from harness.model import Evidence, Severity
from harness.security.catalog import Outcome, ProbeGroup, rule
from harness.security.client import curl, sample
from harness.security.context import ProbeContext
from harness.security.openapi import Parameter
from harness.security.probes.injection import Sender, Slot

REDOS = rule("security.injection.redos", "Pattern-validated fields do not backtrack catastrophically",
             Severity.HIGH, "API4:2023", ("CWE-1333", "CWE-400"), "Use patterns without nested quantifiers, a "
             "linear-time engine (RE2, Rust regex), or bound the input length before matching.")
PUMPS = ("a", "0", "A", "aa", "a-", "a.", "0.", "a ", "ab", "a1")
TAILS = ("!", "\x00", "@!")
MIN_EXTRA_S = 0.75
LOCAL_TARGET_S = 1.5
MAX_FIELDS = 8

_CALIBRATE = r"""
import json, re, sys, time
pattern, pumps, tails, target = json.loads(sys.stdin.read())
rx = re.compile(pattern)
best = None
for pump in pumps:
    if not rx.fullmatch(pump * 3) and not rx.match(pump * 3):
        continue
    for tail in tails:
        previous = None
        for n in range(8, 60, 2):
            text = pump * n + tail
            started = time.process_time()  # CPU time: a busy machine does not look like backtracking
            rx.match(text)
            spent = time.process_time() - started
            if previous is not None and spent > 0.02 and spent > previous * 2.5:
                if spent >= target:
                    print(json.dumps([pump, tail, n, spent])); sys.exit(0)
            elif spent > 0.05 and previous is not None and spent < previous * 1.3:
                break  # grows slowly: not catastrophic
            previous = spent
print("null")
"""


@dataclass
class Attack:
    pump: str
    tail: str
    repeat: int
    local_s: float

    @property
    def text(self) -> str:
        return self.pump * self.repeat + self.tail

    @property
    def benign(self) -> str:
        """Same length, fails at the first character: no backtracking to speak of."""
        return "!" * len(self.text)


class CalibrationTimeout(Exception):
    """The offline search outran its wall-clock bound (a very busy machine, or a pathological pattern)."""


def find_attack(pattern: str, timeout_s: float = 30.0) -> Attack | None:
    """An input the pattern backtracks on catastrophically in Python's ``re`` (None when there is none).

    The search costs ~2x LOCAL_TARGET_S of CPU; the wall-clock bound only stops a runaway child.
    """
    try:
        done = subprocess.run([sys.executable, "-c", _CALIBRATE], input=json.dumps([pattern, PUMPS, TAILS,
                                                                                     LOCAL_TARGET_S]),
                              capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise CalibrationTimeout(f"finding a backtracking input took over {timeout_s:g} s") from exc
    try:
        found = json.loads(done.stdout.strip() or "null")
    except ValueError:
        return None  # the child printed no verdict (e.g. the pattern does not compile in Python): nothing to send
    return Attack(found[0], found[1], int(found[2]), float(found[3])) if found else None


def pattern_slots(ctx: ProbeContext) -> list[Slot]:
    out = []
    for op in ctx.spec.operations:
        for param in op.parameters:
            if param.location in {"query", "path", "body"} and isinstance(param.schema.get("pattern"), str):
                out.append(Slot(op, Parameter(param.name, param.location, param.schema, param.required), ""))
    return out[:MAX_FIELDS]


def run(ctx: ProbeContext) -> list[Outcome]:
    slots = pattern_slots(ctx)
    if not slots:
        return [REDOS.not_applicable("no parameter with a pattern in the spec")]
    sender = Sender(ctx)
    outcomes = []
    for slot in slots:
        pattern = str(slot.param.schema["pattern"])
        where = {"location": slot.op.key, "parameter": slot.key}
        try:
            attack = find_attack(pattern)
        except CalibrationTimeout as exc:
            outcomes.append(REDOS.inconclusive(f"{pattern!r}: {exc}; nothing was sent",
                                               evidence=Evidence(measured={"pattern": pattern}), **where))
            continue
        if attack is None:
            outcomes.append(REDOS.passed(f"{pattern!r} has no catastrophic backtracking in a backtracking engine",
                                         evidence=Evidence(measured={"pattern": pattern}), **where))
            continue
        benign = sender.send(slot, attack.benign)
        slow = sender.send(slot, attack.text)
        extra = slow.extensions["elapsed_s"] - benign.extensions["elapsed_s"]
        evidence = Evidence(measured={"pattern": pattern, "input": f"{attack.pump!r} x {attack.repeat} + {attack.tail!r}",
                                      "local_match_s": round(attack.local_s, 3),
                                      "attack_s": round(slow.extensions["elapsed_s"], 3),
                                      "benign_s": round(benign.extensions["elapsed_s"], 3)},
                            samples=[sample(slow, "backtracking input"), sample(benign, "same length, fails fast")])
        if extra >= MIN_EXTRA_S:
            evidence.curl = curl(slow)
            outcomes.append(REDOS.failed(f"{slot.key} of {slot.op.key}: {len(attack.text)} characters take "
                                         f"{slow.extensions['elapsed_s']:.2f} s against {benign.extensions['elapsed_s']:.2f} s "
                                         f"(the server backtracks on {pattern!r})", evidence=evidence, **where))
        else:
            outcomes.append(REDOS.passed(f"the backtracking input answered in {slow.extensions['elapsed_s']:.2f} s "
                                         f"({slow.status_code}): bounded input or a linear engine",
                                         evidence=evidence, **where))
    return outcomes


RULES = (REDOS,)
GROUP = ProbeGroup("redos", run, RULES)
