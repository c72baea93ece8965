"""Lambda layer staging without Docker: the shared `meterplex` package and third-party deps.

The dependency layer is built by pip for the Lambda platform (`manylinux2014_aarch64`, CPython
3.13, wheels only), so no container is needed. The build is cached: a stamp file records the hash
of the requirements file (plus the pip target), and the build runs again only when it changes.

    python -m infra.layers          # build (or reuse) layers/deps/python, print how long it took
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_REQUIREMENTS = ROOT / "requirements" / "runtime.txt"
DEPS_DIR = ROOT / "layers" / "deps"
DEPS_PYTHON = DEPS_DIR / "python"
DEPS_STAMP = DEPS_DIR / ".built"
SHARED_PACKAGE = ROOT / "layers" / "meterplex"
BUILD_DIR = ROOT / "build"  # git-ignored
SHARED_STAGING = BUILD_DIR / "layers" / "shared"

# Lambda's runtime and architecture; the CDK functions construct uses the same pair. The python3.13
# runtime is Amazon Linux 2023 (glibc 2.34), so manylinux_2_28 wheels run there too: confluent-kafka
# publishes only those for aarch64, and pip with manylinux2014 alone finds no wheel for it.
PIP_PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
PYTHON_VERSION = "3.13"

# Already in the Lambda Python runtime, and large: leave them out of the layer.
_PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer")


def _pip_command(target: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "-r",
        str(RUNTIME_REQUIREMENTS),
        *(arg for platform in PIP_PLATFORMS for arg in ("--platform", platform)),
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--upgrade",
        "-t",
        str(target),
    ]


def deps_fingerprint() -> str:
    digest = hashlib.sha256(RUNTIME_REQUIREMENTS.read_bytes())
    digest.update(f"{PIP_PLATFORMS}/{PYTHON_VERSION}".encode())
    return digest.hexdigest()


def build_deps_layer(*, force: bool = False) -> Path:
    """Return `layers/deps` (the layer root holding `python/`), building it only when stale."""
    fingerprint = deps_fingerprint()
    if not force and DEPS_STAMP.is_file() and DEPS_STAMP.read_text().strip() == fingerprint:
        return DEPS_DIR
    building = DEPS_DIR / "python.building"
    shutil.rmtree(building, ignore_errors=True)
    subprocess.run(_pip_command(building), check=True)  # noqa: S603 - fixed argv, no shell
    for name in _PROVIDED_BY_RUNTIME:
        for path in building.glob(f"{name}*"):
            shutil.rmtree(path, ignore_errors=True)
    for cache in building.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(DEPS_PYTHON, ignore_errors=True)
    building.rename(DEPS_PYTHON)
    DEPS_STAMP.write_text(fingerprint + "\n")
    return DEPS_DIR


def stage_shared_layer() -> Path:
    """Copy `layers/meterplex` to `<staging>/python/meterplex`, the layout Lambda layers need.

    One staging directory per process, made once and removed at exit (the asset is copied into the
    cloud assembly at synthesis): two processes synthesizing at once — the test suite's two
    workers — never read a directory the other is rewriting."""
    staging = SHARED_STAGING.with_name(f"{SHARED_STAGING.name}-{os.getpid()}")
    target = staging / "python" / "meterplex"
    if not target.is_dir():
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(
            SHARED_PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
        )
        atexit.register(shutil.rmtree, staging, ignore_errors=True)
    return staging


def main() -> None:
    started = time.perf_counter()
    force = "--force" in sys.argv
    build_deps_layer(force=force)
    size_mb = sum(p.stat().st_size for p in DEPS_PYTHON.rglob("*") if p.is_file()) / 1e6
    print(f"dependency layer ready in {time.perf_counter() - started:.1f}s ({size_mb:.1f} MB): {DEPS_PYTHON}")


if __name__ == "__main__":
    main()
