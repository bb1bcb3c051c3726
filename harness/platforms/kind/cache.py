"""Where the kind platform keeps what it builds, and the keys that say when to rebuild.

Everything lives under ``$HARNESS_CACHE_DIR`` (default ``~/.cache/harness``) in ``kind/``:
Go binaries (stamped with their versions), the node root filesystem, wheels for the refsys images, logs.
Docker images are keyed by a content hash in their tag, so an unchanged tree never rebuilds.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

BUILD_DIR = Path(__file__).parent / "build"
VERSIONS_FILE = BUILD_DIR / "versions.env"
REPO_ROOT = Path(__file__).resolve().parents[3]


def cache_root() -> Path:
    return Path(os.environ.get("HARNESS_CACHE_DIR") or Path.home() / ".cache" / "harness").expanduser()


def kind_cache() -> Path:
    path = cache_root() / "kind"
    path.mkdir(parents=True, exist_ok=True)
    return path


def versions() -> dict[str, str]:
    """KEY=VALUE lines of ``build/versions.env`` (the pinned versions of everything built)."""
    out: dict[str, str] = {}
    for line in VERSIONS_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def content_key(paths: Iterable[Path], *extra: str) -> str:
    """sha256 over files (relative names + bytes, folders recursively, caches skipped) and strings."""
    digest = hashlib.sha256()
    for root in paths:
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in files:
            if "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
                continue
            name = path.relative_to(root.parent) if root.is_dir() else Path(path.name)
            digest.update(str(name).encode() + b"\0" + path.read_bytes() + b"\0")
    for item in extra:
        digest.update(item.encode() + b"\0")
    return digest.hexdigest()[:12]


def binaries_dir() -> Path:
    """Folder of the built binaries; each component's ``.stamp-<component>`` holds the version it was built at."""
    return kind_cache() / "bin"
