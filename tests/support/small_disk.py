"""A real full disk for the OIFITS store: a small tmpfs mounted on a folder of the test (root only;
otherwise the test is skipped with a message), and ways to fill it to the byte and free it again."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["fill", "free_bytes", "small_tmpfs"]

PAGE = 4096  # tmpfs hands out whole pages


@contextlib.contextmanager
def small_tmpfs(folder: Path, size: int) -> Iterator[Path]:
    """``folder`` (created) as a tmpfs of ``size`` bytes for the block, unmounted after (also on
    failure); skips the test when not root or when mounting is refused (a container without the right)."""
    if os.geteuid() != 0:
        pytest.skip("a full disk needs a small tmpfs, and mounting one needs root")
    if shutil.which("mount") is None:
        pytest.skip("no mount command to make a small tmpfs")
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], capture_output=True, check=False)


def free_bytes(folder: Path) -> int:
    """What a writer may still put on the filesystem of ``folder``."""
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


def fill(folder: Path, leave: int = 0, name: str = "filler") -> Path:
    """A file in ``folder`` taking all the free space but ``leave`` bytes (rounded down to pages); delete
    it to free the space again."""
    filler = folder / name
    want = max(0, free_bytes(folder) - leave)
    want -= want % PAGE
    with filler.open("ab") as out:
        out.write(b"\0" * want)
    return filler
