"""``harness claims extract``: draft a claims file from a markdown status report, deterministically.

Every line of the document is accounted for: structure (blank lines, headings without a status, table
headers, code listings, captions) carries no claim; every other line is a claim — testable when one of
the shapes in ``shapes.py`` matches (with its numbers as ``params``), otherwise listed as untestable with
the reason and the line quoted. Patterns and a small grammar, no network, no model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from harness.claims.extract.grammar import header_line
from harness.claims.extract.shapes import Shape, recognise
from harness.claims.extract.text import DONE_MARKERS, DONE_SYMBOLS, PLANNED_SYMBOLS, Line, repair, split_lines
from harness.claims.model import Claim, ClaimsFile, ClaimSource
from harness.claims.parameters import ClaimParams
from harness.errors import UsageError

STRUCTURE = {"blank", "rule", "fence", "table_header", "table_rule", "label"}


@dataclass
class LineRecord:
    """What the extractor made of one line: the claims drawn from it, or why it carries none."""

    number: int
    text: str
    kind: str
    claims: list[str] = field(default_factory=list)
    structure: str | None = None  # why it carries no claim (blank, heading, code listing, ...)


def is_claim_bearing(line: Line) -> str | None:
    """None when the line states something; otherwise what kind of structure it is."""
    if line.kind in STRUCTURE:
        return line.kind
    if not re.search(r"[A-Za-z]{2}", line.content):
        return "no words"
    if line.kind == "heading":  # "Phase 1 ✅ COMPLETE" claims something; "Next Steps" only names a section
        return None if DONE_MARKERS.search(line.content) else "heading"
    if line.kind == "code":
        stated = DONE_SYMBOLS.search(line.content) or PLANNED_SYMBOLS.search(line.content) or header_line(line.content)
        return None if stated else "code listing"
    return None


def _slug(text: str, words: int = 6) -> str:
    plain = re.sub(r"`[^`]*`|\*\*|[^\w\s/-]", " ", text.lower())
    parts = [w for w in re.split(r"[\s/_-]+", plain) if w and w.isascii()][:words]
    return "-".join(parts)[:48].strip("-") or "claim"


def _claim(line: Line, document: str, shape: Shape | None, untestable: tuple[str, str] | None) -> Claim:
    suffix = f"-{shape.suffix}" if shape and shape.suffix else ""
    base = {"id": f"{_slug(line.content)}-l{line.number}{suffix}", "text": line.content.strip(),
            "source": ClaimSource(file=document, line=line.number), "status": line.status}
    if shape is None:
        category, reason = untestable or ("general", "no suite verifies this kind of claim")
        if line.status == "planned" and category in ("general", "internal", "kubernetes", "compliance"):
            category, reason = "plan", "stated as planned or open, not as done: nothing to verify yet"
        return Claim(**base, category=category, untestable=reason)
    return Claim(**base, category=shape.category, verify=shape.verify, platforms=shape.platforms,
                 params=ClaimParams.model_validate(shape.params))


def extract_lines(text: str, document: str = "STATUS.md") -> tuple[ClaimsFile, list[LineRecord]]:
    """The claims file and the account of every line (``records[i]`` is line ``i + 1``)."""
    claims: list[Claim] = []
    records: list[LineRecord] = []
    for line in split_lines(repair(text)):
        record = LineRecord(line.number, line.raw, line.kind)
        records.append(record)
        structure = is_claim_bearing(line)
        if structure:
            record.structure = structure
            continue
        found = recognise(line.content, " / ".join(line.section))
        drawn = [_claim(line, document, shape, None) for shape in found] if isinstance(found, list) \
            else [_claim(line, document, None, found)]
        claims += drawn
        record.claims = [c.id for c in drawn]
    return ClaimsFile(document=document, claims=claims), records


def extract_text(text: str, document: str = "STATUS.md") -> ClaimsFile:
    return extract_lines(text, document)[0]


def extract_file(path: Path) -> ClaimsFile:
    """Draft a claims file from a markdown file; an unreadable file is a usage error (exit 4)."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read {path} ({exc.strerror or exc}); give the path of a markdown status report") from None
    try:
        return extract_text(text, path.name)
    except ValidationError as exc:  # a shape produced numbers the model refuses: a bug here, not in the input
        raise AssertionError(f"extract drafted an invalid claim from {path}: {exc}") from exc
