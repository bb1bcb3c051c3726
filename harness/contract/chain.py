"""Make a stateful failure's reproduction replayable: re-create what it depends on.

A failure found by following OpenAPI links (``POST /analyses`` → ``GET /analyses/{id}``) hard-codes
the id the first response returned; by the time a human replays it, that object may be gone. So
the ancestors of the failing request are replayed too, and every value a later request took from
an earlier response is captured into a shell variable from the new response (a JSON pointer
found by searching the original response for that value). Hand-written: schemathesis reports the
chain's curls, not how their values flow.
"""

from __future__ import annotations

import json
from typing import Any

MIN_CAPTURED_LENGTH = 6  # shorter values (e.g. "1", "ok") would match by accident


def json_paths(value: Any, path: tuple = ()) -> list[tuple[tuple, str]]:
    """Every string leaf of a JSON document with its path."""
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in json_paths(v, (*path, k))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in json_paths(v, (*path, i))]
    return [(path, value)] if isinstance(value, str) and len(value) >= MIN_CAPTURED_LENGTH else []


def _substitute(curl: str, value: str, variable: str) -> str:
    """Replace ``value`` by ``$variable``, closing and reopening single quotes where it sits in them."""
    out, start = [], 0
    while (index := curl.find(value, start)) != -1:
        inside_quotes = curl.count("'", 0, index) % 2 == 1
        out.append(curl[start:index])
        out.append(f"'\"${{{variable}}}\"'" if inside_quotes else f"\"${{{variable}}}\"")
        start = index + len(value)
    out.append(curl[start:])
    return "".join(out)


def capture_commands(curl: str, step: int, captures: list[tuple[str, tuple]]) -> str:
    """Run a step keeping its body, then pull each captured value out of it with a JSON pointer."""
    *comments, command = curl.splitlines()
    lines = [*comments, f"STEP{step}_BODY=$({command} -s)"]
    for variable, path in captures:
        pointer = "".join(f"[{json.dumps(p)}]" for p in path)
        lines.append(f"{variable}=$(printf '%s' \"$STEP{step}_BODY\" | "
                     f"python3 -c 'import json,sys; print(json.load(sys.stdin){pointer})')")
    return "\n".join(lines)


def chained_reproduction(steps: list[tuple[str, str | None]]) -> list[str]:
    """``steps`` = (curl, response body) oldest first, the failing request last → replayable curls."""
    curls = [curl for curl, _ in steps]
    for index, (_, body) in enumerate(steps[:-1]):
        try:
            document = json.loads(body or "")
        except ValueError:
            continue
        captures = []
        for number, (path, value) in enumerate(json_paths(document)):
            if any(value in curl for curl in curls[index + 1:]):
                variable = f"STEP{index + 1}_{number}"
                captures.append((variable, path))
                curls[index + 1:] = [_substitute(curl, value, variable) for curl in curls[index + 1:]]
        if captures:
            curls[index] = capture_commands(curls[index], index + 1, captures)
    return curls
