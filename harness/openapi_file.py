"""The target's OpenAPI document as saved in a run folder (``openapi.json``), and where each operation is in it.

Suites save the document they worked from; the SARIF writer points each finding at its operation's line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SPEC_FILE = "openapi.json"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def save_pretty(document: dict[str, Any], folder: Path, name: str = SPEC_FILE) -> tuple[Path, dict[str, int]]:
    """Write the spec pretty-printed and return its path and the 1-based line of each ``METHOD /path``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    text = json.dumps(document, indent=2, ensure_ascii=False)
    path.write_text(text + "\n")
    return path, operation_lines(text)


def operation_lines(pretty_text: str) -> dict[str, int]:
    """Line numbers of operations in ``json.dumps(doc, indent=2)`` output: paths at indent 4, methods at 6."""
    lines: dict[str, int] = {}
    in_paths = False
    current_path = None
    for number, line in enumerate(pretty_text.splitlines(), start=1):
        if line.startswith('  "') and not line.startswith("   "):
            in_paths = line.startswith('  "paths"')
            continue
        if not in_paths:
            continue
        if line.startswith('    "') and not line.startswith("     "):
            current_path = json.loads(line.strip().rsplit(":", 1)[0].strip().rstrip(":"))
        elif current_path and line.startswith('      "') and not line.startswith("       "):
            method = line.strip().split('"')[1]
            if method in HTTP_METHODS:
                lines[f"{method.upper()} {current_path}"] = number
    return lines
