"""Images of the reference system (gateway, inference, postgres, redis) and the fake GPU plugin.

``fixtures/refsys/images/Dockerfile`` builds all four from one Debian base: ``debian:bookworm-slim``
where it is local or can be pulled, else one built here (``build/debian-base.sh``, debootstrap).
Python wheels are downloaded on the host (pip, the harness's own index settings) into the build
context, so the image build needs apt only (run with host networking). Each tag carries a content
key over everything that goes into it: an unchanged tree is never rebuilt.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import BuildError, DockerException

from harness.errors import PlatformError
from harness.platforms.kind.cache import BUILD_DIR, REPO_ROOT, content_key, kind_cache, versions
from harness.platforms.kind.host import has_image
from harness.platforms.kind.toolchain import Progress, go_binary, go_work_dir, run_logged

REFSYS = REPO_ROOT / "fixtures" / "refsys"
IMAGES_DIR = REFSYS / "images"
PLUGIN_DIR = BUILD_DIR / "gpu-plugin"
TARGETS = ("gateway", "inference", "postgres", "redis")
PYTHON_SOURCES = [REFSYS / "gateway", REFSYS / "inference", REFSYS / "defects.py", REFSYS / "__init__.py"]


@dataclass(frozen=True)
class RefsysImages:
    gateway: str
    inference: str
    postgres: str
    redis: str
    gpu_plugin: str
    base: str

    def all(self) -> list[str]:
        return [self.gateway, self.inference, self.postgres, self.redis, self.gpu_plugin]


def debian_base(client: docker.DockerClient, progress: Progress) -> str:
    """debian:bookworm-slim (local or pulled), else a debootstrapped one built into the cache."""
    key = content_key([BUILD_DIR / "debian-base.sh"], versions()["DEBIAN_SUITE"])
    built = f"harness-kind/debian:bookworm-{key}"
    if has_image(client, built):
        return built
    if has_image(client, "debian:bookworm-slim"):
        return "debian:bookworm-slim"
    try:
        client.images.pull("debian", tag="bookworm-slim")
        return "debian:bookworm-slim"
    except DockerException:
        pass
    run_logged(["bash", str(BUILD_DIR / "debian-base.sh"), str(kind_cache() / "debian-work"), built],
               kind_cache() / "debian-base.log", "building a Debian base image (debootstrap; cannot pull one)", progress)
    return built


def wheels_dir(progress: Progress) -> Path:
    """Wheels for ``images/requirements.txt`` (CPython 3.11.2 = Debian bookworm, manylinux x86_64), downloaded once per pin set."""
    requirements = IMAGES_DIR / "requirements.txt"
    folder = kind_cache() / f"wheels-{content_key([requirements])}"
    if (folder / ".complete").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    run_logged([sys.executable, "-m", "pip", "download", "-q", "-r", str(requirements), "-d", str(folder),
                "--only-binary=:all:", "--python-version", "3.11.2", "--implementation", "cp",
                "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_17_x86_64",
                "--platform", "manylinux_2_28_x86_64", "--platform", "linux_x86_64"],
               kind_cache() / "wheels.log", "downloading wheels for the refsys images", progress)
    (folder / ".complete").write_text("ok\n")
    return folder


def _context(wheels: Path) -> io.BytesIO:
    """Build context: Dockerfile, entrypoint, wheels/, fixtures/ (the refsys Python package only)."""
    buffer = io.BytesIO()
    skip = {"__pycache__", "images", "k8s"}

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if skip & set(Path(info.name).parts) or info.name.endswith(".pyc") else info

    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(IMAGES_DIR / "Dockerfile", "Dockerfile")
        tar.add(IMAGES_DIR / "postgres-entrypoint.sh", "postgres-entrypoint.sh")
        tar.add(wheels, "wheels", filter=lambda i: None if i.name.endswith(".complete") else i)
        tar.add(IMAGES_DIR / "requirements.txt", "wheels/requirements.txt")
        tar.add(REPO_ROOT / "fixtures" / "__init__.py", "fixtures/__init__.py")
        tar.add(REFSYS, "fixtures/refsys", filter=keep)
    buffer.seek(0)
    return buffer


def build_refsys_images(client: docker.DockerClient, progress: Progress) -> RefsysImages:
    """Build (or find) every image; returns their tags."""
    base = debian_base(client, progress)
    key = content_key([*PYTHON_SOURCES, IMAGES_DIR, REPO_ROOT / "fixtures" / "__init__.py"], base)
    refs = {target: f"harness-refsys/{target}:{key}" for target in TARGETS}
    missing = [t for t in TARGETS if not has_image(client, refs[t])]
    if missing:
        wheels = wheels_dir(progress)
        for target in missing:
            progress(f"building image {refs[target]}")
            try:
                client.images.build(fileobj=_context(wheels), custom_context=True, tag=refs[target], target=target,
                                    buildargs={"BASE": base}, network_mode="host", rm=True, forcerm=True)
            except (BuildError, DockerException) as exc:
                log = "".join(str(chunk.get("stream", "")) for chunk in getattr(exc, "build_log", []))[-800:]
                raise PlatformError(f"building {refs[target]} failed: {exc}; {log.strip()}") from None
    plugin = gpu_plugin_image(client, progress)
    return RefsysImages(**refs, gpu_plugin=plugin, base=base)


def gpu_plugin_image(client: docker.DockerClient, progress: Progress) -> str:
    """The fake GPU device plugin: built with the host's Go and imported, else its multi-stage Dockerfile."""
    ref = f"harness-kind/fake-gpu-plugin:{content_key([PLUGIN_DIR])}"
    if has_image(client, ref):
        return ref
    go = go_binary()
    if go is None:
        progress(f"building {ref} (multi-stage Dockerfile, pulls a Go image)")
        try:
            client.images.build(path=str(PLUGIN_DIR), tag=ref, rm=True, forcerm=True)
        except (BuildError, DockerException) as exc:
            raise PlatformError(f"building the GPU plugin image failed: {exc}; install Go or allow pulls") from None
        return ref
    binary = kind_cache() / "fake-gpu-plugin"
    work = go_work_dir()
    run_logged(["env", f"GOMODCACHE={work / 'gomod'}", f"GOCACHE={work / 'gocache'}", "GOFLAGS=-buildvcs=false",
                "GOTOOLCHAIN=local", "CGO_ENABLED=0", go, "build", "-C", str(PLUGIN_DIR), "-trimpath",
                "-ldflags=-s -w", "-o", str(binary), "."],
               kind_cache() / "gpu-plugin-build.log", "building the fake GPU device plugin (Go)", progress)
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        tar.add(binary, "fake-gpu-plugin")
    layer.seek(0)
    result = subprocess.run(["docker", "import", "--change", 'ENTRYPOINT ["/fake-gpu-plugin"]', "-", ref],
                            input=layer.read(), capture_output=True)
    if result.returncode != 0:
        raise PlatformError(f"docker import of the GPU plugin failed: {result.stderr.decode()[:300]}")
    return ref
