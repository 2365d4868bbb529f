"""Committed versions of the contract files, read from git.

Every git command runs with ``cwd`` at the checked root and uses ``./``-relative paths, so the root may
also be a subdirectory of a larger repository. History is what was committed on the current branch (HEAD);
uncommitted edits are the drift check's business.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


class GitError(RuntimeError):
    """A git command failed (or git is missing)."""


def _git(root: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise GitError("git is not installed") from exc
    if done.returncode != 0:
        raise GitError(done.stderr.decode(errors="replace").strip() or f"git {args[0]} failed")
    return done.stdout


def unavailable_reason(root: Path) -> str | None:
    """Why the history of ``root`` cannot be trusted to be complete, or None when it can."""
    try:
        shallow = _git(root, "rev-parse", "--is-shallow-repository").decode().strip()
    except GitError as exc:
        return f"not a git repository: {exc}"
    try:
        _git(root, "rev-parse", "--verify", "--quiet", "HEAD")
    except GitError:
        return "the repository has no commit yet"
    if shallow == "true":
        return "shallow clone, so older committed versions are missing (fetch with --unshallow)"
    return None


def committed_versions(root: Path, path: str) -> list[tuple[str, bytes]]:
    """``(short sha, content)`` of every distinct committed content of ``path``, newest first.

    Renames are deliberately not followed: a file renamed from ``x.v1.json`` to ``x.v2.json`` is a new
    version, which must not be held to the old version's shape.
    """
    shas = _git(root, "log", "--format=%h", "--", f"./{path}").decode().split()
    versions: list[tuple[str, bytes]] = []
    seen: set[bytes] = set()
    for sha in shas:
        try:
            content = _git(root, "show", f"{sha}:./{path}")
        except GitError:  # the commit that deleted the file
            continue
        if content not in seen:
            seen.add(content)
            versions.append((sha, content))
    return versions


def committed_paths(root: Path, directory: str) -> set[str]:
    """Every file ever added directly under ``directory`` on the current branch (root-relative paths)."""
    # --no-renames: a renamed file counts as added under its new name (and removed under the old one).
    args = ["log", "--no-renames", "--diff-filter=A", "--format=", "--name-only", "--relative"]
    out = _git(root, *args, "--", f"./{directory}")
    prefix = directory.rstrip("/") + "/"
    names = {line.strip() for line in out.decode().splitlines() if line.strip()}
    return {name for name in names if name.startswith(prefix) and "/" not in name[len(prefix) :]}
