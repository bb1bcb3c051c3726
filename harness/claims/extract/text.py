"""A status report as lines: repaired text, what kind of markdown line each is, and the section it is in.

Status reports arrive mangled: UTF-8 read as Windows-1252 (``âœ…`` for ✅) or as Mac Roman (``‚úÖ``).
ftfy repairs the first kind; it leaves Mac Roman alone (it is not among the encodings it guesses), so
a line that round-trips through Mac Roman into valid UTF-8 with fewer odd characters is repaired here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import ftfy

LineKind = Literal["blank", "heading", "rule", "fence", "code", "table_header", "table_rule", "table_row",
                   "list_item", "label", "text"]

# words in capitals only: "must be completed" in prose is not a status
DONE_MARKERS = re.compile(r"✅|✔|☑|\[[xX]\]|\b(?:COMPLETED?|DONE|IMPLEMENTED|PRODUCTION READY)\b|\b[Aa]lready [Cc]omplete")
PLANNED_MARKERS = re.compile(r"❌|⏳|\[ \]|\b(?:TODO|NEXT STEPS|PLANNED|PENDING|NOT STARTED|IN PROGRESS|PARTIAL|"
                             r"RECOMMENDATIONS|SHORT-TERM|LONG-TERM|FUTURE|REQUIRES DEPLOYMENT)\b", re.IGNORECASE)
_ODD = re.compile(r"[\u0080-\u00ff\u0152-\u0192\u02c6-\u02dc\u2018-\u203a\u2122\uf8ff√]")


def repair(text: str) -> str:
    """Undo mojibake line by line (ftfy for cp1252/latin-1, a Mac Roman round trip for the rest)."""
    fixed = ftfy.fix_text(text, uncurl_quotes=False, fix_latin_ligatures=False, normalization="NFC")
    return "\n".join(_mac_roman(line) for line in fixed.split("\n"))


def _mac_roman(line: str) -> str:
    if not _ODD.search(line):
        return line
    try:
        candidate = line.encode("mac_roman").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return line
    return candidate if len(_ODD.findall(candidate)) < len(_ODD.findall(line)) else line


@dataclass
class Line:
    number: int  # 1-based, as an editor shows it
    raw: str
    kind: LineKind
    content: str = ""  # the line without its markdown decoration (bullet, heading hashes, table pipes)
    cells: list[str] = field(default_factory=list)
    section: list[str] = field(default_factory=list)  # enclosing headings, outermost first
    status: Literal["claimed", "planned"] = "claimed"


def _stripped_list(text: str) -> str | None:
    match = re.match(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$", text)
    return match.group(1) if match else None


def _is_label(content: str) -> bool:
    """``**Scope**:`` / ``### Files:`` / ``**Features Used:**`` - a caption for what follows, no claim of its own."""
    return bool(re.fullmatch(r"\**[^*:]{1,60}(?::\**|\**:)\s*", content.strip()))


def split_lines(text: str) -> list[Line]:
    """Every line of the document, classified, with its section and stated status (claimed/planned)."""
    lines: list[Line] = []
    in_fence = False
    headings: list[tuple[int, str, str | None]] = []  # (level, text, status it sets)
    status_override: tuple[int, str] | None = None  # a "**Status**: ❌" line: (heading depth, status)
    raw_lines = text.split("\n")
    for index, raw in enumerate(raw_lines):
        stripped = raw.strip()
        number = index + 1
        if stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
            lines.append(Line(number, raw, "fence"))
            continue
        if in_fence:
            lines.append(Line(number, raw, "code", content=stripped))
        elif not stripped:
            lines.append(Line(number, raw, "blank"))
        elif re.fullmatch(r"(?:-{3,}|\*{3,}|_{3,})", stripped):
            lines.append(Line(number, raw, "rule"))
        elif heading := re.match(r"^(#{1,6})\s+(.*)$", stripped):
            level, title = len(heading.group(1)), heading.group(2).strip()
            headings = [h for h in headings if h[0] < level] + [(level, title, _marker_status(title))]
            status_override = None
            lines.append(Line(number, raw, "heading", content=title))
        elif stripped.startswith("|"):
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                lines.append(Line(number, raw, "table_rule", cells=cells))
                if lines[-2].kind == "table_row":
                    lines[-2].kind = "table_header"
            else:
                lines.append(Line(number, raw, "table_row", content=" | ".join(c for c in cells if c), cells=cells))
        elif (item := _stripped_list(raw)) is not None:
            lines.append(Line(number, raw, "list_item", content=item.strip()))
        else:
            lines.append(Line(number, raw, "label" if _is_label(stripped) else "text", content=stripped))
        line = lines[-1]
        line.section = [title for _, title, _ in headings]
        status = re.match(r"^\**status\**\s*:?\**\s*:?\s*(.*)$", line.content, re.IGNORECASE)
        if status and line.kind in ("text", "list_item") and _marker_status(status.group(1)):
            status_override = (len(headings), _marker_status(status.group(1)) or "claimed")
        line.status = _line_status(line, headings, status_override)
    return lines


DONE_SYMBOLS = re.compile(r"✅|✔|☑|\[[xX]\]")
PLANNED_SYMBOLS = re.compile(r"❌|⏳|\[ \]")


def _marker_status(text: str) -> str | None:
    """A heading's or status line's own status: symbols or capitalised words."""
    if PLANNED_MARKERS.search(text):
        return "planned"
    if DONE_MARKERS.search(text):
        return "claimed"
    return None


def _symbol_status(text: str) -> str | None:
    """A list item's or row's own status: symbols only (a feature may be called "Recommendations")."""
    if PLANNED_SYMBOLS.search(text):
        return "planned"
    if DONE_SYMBOLS.search(text):
        return "claimed"
    return None


def _line_status(line: Line, headings: list[tuple[int, str, str | None]],
                 override: tuple[int, str] | None) -> Literal["claimed", "planned"]:
    own = _symbol_status(line.content or line.raw) if line.kind != "heading" else None
    if own:
        return "planned" if own == "planned" else "claimed"
    if override is not None:
        return "planned" if override[1] == "planned" else "claimed"
    for _, _, status in reversed(headings):
        if status:
            return "planned" if status == "planned" else "claimed"
    return "claimed"
