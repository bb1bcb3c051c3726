"""What the gate prints: one line per blocking reason (regressions first), and a Markdown job summary.

The Markdown goes to ``$GITHUB_STEP_SUMMARY`` (GitHub Actions) or any file a CI shows: verdict,
level, regressions with before → after, new findings, waivers used and expiring, warnings.
"""

from __future__ import annotations

from pathlib import Path

from harness.gate.compare import fmt
from harness.gate.evaluate import GateResult
from harness.model import Verdict

ICON = {Verdict.READY: "✅", Verdict.NOT_READY: "❌", Verdict.INCONCLUSIVE: "⚠️", Verdict.ABORTED: "⏹️",
        Verdict.ERROR: "💥", Verdict.NOTHING_RAN: "∅"}


def headline(result: GateResult, report: str) -> str:
    against = f" · {result.baseline.describe()}" if result.baseline else ""
    return (f"{result.verdict.value.replace('_', ' ').upper()} (exit {int(result.exit_code)}) · {report} · "
            f"policy {result.policy_source}{against}")


def terminal_lines(result: GateResult) -> list[tuple[str, str]]:
    """(style, text) lines after the headline: blocking, level, waived, known, warnings, notes."""
    lines = [("red", f"BLOCKING {kind}: {text}") for kind, text in result.blocking]
    if result.levels is not None:
        lines.append(("bold", result.levels.line()))
    lines += [("cyan", f"WAIVED {text}") for text in result.waived]
    lines += [("dim", f"KNOWN {text}") for text in result.known]
    lines += [("yellow", f"WARNING {text}") for text in result.warnings]
    if not result.blocking:
        lines += [("", note) for note in result.notes]
    return lines


def markdown(result: GateResult, report: str) -> str:
    out = [f"## {ICON[result.verdict]} Readiness gate: {result.verdict.value.replace('_', ' ').upper()} "
           f"(exit {int(result.exit_code)})", "",
           f"Report `{report}` · policy `{result.policy_source}`"
           + (f" · {result.baseline.describe()}" if result.baseline else ""), ""]
    if result.levels is not None:
        levels = result.levels
        reached = levels.reached or "none"
        required = f" (policy requires **{result.required_level}**)" if result.required_level else ""
        out.append(f"**Level:** {reached}{required} — " + " → ".join(
            f"{o.name} {'✅' if levels.rank(o.name) <= levels.rank(levels.reached) else '❌'}" for o in levels.outcomes))
        nxt = levels.next
        if nxt is not None:
            out.append("")
            out.append(f"Missing for **{nxt.name}**:")
            out += [f"- {_code_first(item)}" for item in nxt.missing]
        out.append("")
    if result.blocking:
        out += [f"### Blocking ({len(result.blocking)})", ""]
        out += [f"- **{kind}**: {_md(text)}" for kind, text in result.blocking]
        out.append("")
    elif result.notes:
        out += [f"- {_md(note)}" for note in result.notes] + [""]
    regressed = [c for c in result.metric_changes if c.regressed]
    if result.check_regressions or regressed:
        out += ["### Regressions", "", "| what | before | after | allowed |", "|---|---|---|---|"]
        out += [f"| `{check.id}` | {was} | {check.status.value} | – |" for check, was in result.check_regressions]
        out += [f"| `{c.name}` | {fmt(c.before.value, c.unit)} | {fmt(c.after.value, c.unit)} "
                f"({c.relative:+.0%}) | {c.change.text} |" if c.relative is not None else
                f"| `{c.name}` | {fmt(c.before.value, c.unit)} | {fmt(c.after.value, c.unit)} | {c.change.text} |"
                for c in regressed]
        out.append("")
    if result.new_findings:
        out += [f"### New findings ({len(result.new_findings)})", "",
                "| severity | check | where | fingerprint | blocks |", "|---|---|---|---|---|"]
        out += [f"| {f.severity.value} | `{f.check_id}` | {_md(f.location or '-')} | `{f.fingerprint}` | "
                f"{'yes' if blocks else 'no'} |" for f, blocks in result.new_findings]
        out.append("")
    if result.waivers:
        out += ["### Waivers", "", "| waiver | covers | owner | expires | state |", "|---|---|---|---|---|"]
        for waiver in result.waivers:
            days = waiver.days_left(result.today)
            state = "expired" if days <= 0 else f"expires in {days} days" if days <= 14 else "active"
            out.append(f"| {_md(waiver.name)} | {_md(waiver.covers)} | {_md(waiver.owner)} | {waiver.expires} | {state} |")
        out.append("")
        if result.waived:
            out += [f"- waived: {_md(text)}" for text in result.waived] + [""]
    if result.known:
        out += [f"<details><summary>Known in the baseline, not blocking ({len(result.known)})</summary>", ""]
        out += [f"- {_md(text)}" for text in result.known] + ["", "</details>", ""]
    if result.fixed:
        out += [f"Fixed since the baseline: {', '.join(f'`{cid}`' for cid in result.fixed)}", ""]
    if result.warnings:
        out += ["### Warnings", ""] + [f"- {_md(text)}" for text in result.warnings] + [""]
    return "\n".join(out)


def write_markdown(result: GateResult, report: str, path: Path) -> None:
    """Append (``$GITHUB_STEP_SUMMARY`` collects every step's output in one file)."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(markdown(result, report) + "\n")


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def _code_first(item: str) -> str:
    head, _, rest = item.partition(" ")
    return f"`{head}` {_md(rest)}" if "." in head else _md(item)
