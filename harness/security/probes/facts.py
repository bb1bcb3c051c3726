"""What the probes knew about the target, and where each fact came from: the spec (declared) or the answers (learned).

Recorded last, as an info check, so a reader can tell a verdict that rests on the spec from one that rests
on something the harness inferred (``harness.security.learn``): which operations need authentication, which
request bodies were guessed from object shapes, which operations create objects and where their ids are.
"""

from __future__ import annotations

from harness.model import Evidence, Severity
from harness.security.catalog import Outcome, ProbeGroup, rule
from harness.security.context import ProbeContext

FACTS = rule("security.target.facts", "What the probes knew about the target: declared by the spec, or learned",
             Severity.INFO, "API9:2023", "CWE-1059", "Declare security schemes, request bodies, required fields and "
             "links in the spec; every learned fact is one the spec could have said.")


def run(ctx: ProbeContext) -> list[Outcome]:
    summary = ctx.knowledge.summary()
    learned, declared = summary.get("learned", []), summary.get("declared", [])
    evidence = Evidence(measured={"learned": learned, "declared": declared,
                                  "learning_requests": ctx.knowledge.requests,
                                  "throttle_waits_s": round(ctx.client.waited_s, 1),
                                  "throttled_answers_given_to_probes": ctx.client.pacer.gave_up})
    return [FACTS.passed(f"{len(declared)} facts declared by the spec, {len(learned)} learned from the answers",
                         evidence=evidence)]


RULES = (FACTS,)
GROUP = ProbeGroup("facts", run, RULES)
