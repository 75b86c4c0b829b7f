"""The dependency locks (issue 18, item 11): the whole tree pinned with hashes, made from
the unpinned .in files, and what make (so CI) installs, with --require-hashes."""

import re
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .conftest import ROOT

PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\;]+)")


def locked(lock: str) -> dict[str, tuple[str, int]]:
    """{package: (version, number of hashes)} of a pip-compile lock."""
    entries: dict[str, tuple[str, int]] = {}
    current = None
    for line in (ROOT / lock).read_text().splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match.group(1))
            entries[current] = (match.group(2), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = entries[current]
            entries[current] = (version, hashes + 1)
        elif line.strip() and not line.lstrip().startswith(("#", "--hash")):
            pytest.fail(f"{lock}: a line that is no pinned, hashed requirement: {line!r}")
    return entries


def asked_for(requirements_in: str) -> set[str]:
    names = set()
    for line in (ROOT / requirements_in).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(canonicalize_name(Requirement(line).name))
    return names


@pytest.mark.parametrize(
    ("lock", "source"),
    [("requirements.txt", "requirements.in"), ("requirements-dev.txt", "requirements-dev.in")],
)
def test_every_package_of_the_tree_is_pinned_with_its_hashes(lock, source):
    entries = locked(lock)
    assert entries and all(hashes >= 1 for _, hashes in entries.values()), lock
    missing = asked_for(source) - set(entries)
    assert not missing, f"{source} asks for {missing}, not in {lock}: run make lock"
    assert "--no-emit-index-url" in (ROOT / lock).read_text()  # no machine's index in it


def test_the_dev_lock_has_the_runtime_lock_at_the_same_versions():
    runtime, dev = locked("requirements.txt"), locked("requirements-dev.txt")
    assert asked_for("requirements.in") <= set(dev)
    assert {name: version for name, (version, _) in runtime.items()} == {
        name: dev[name][0] for name in runtime
    }


def test_make_installs_from_the_lock_with_hashes_and_can_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --require-hashes -r requirements-dev.txt" in makefile
    assert "--generate-hashes" in makefile and "\nlock:" in makefile
    readme = (ROOT / "README.md").read_text()
    assert "pip install --require-hashes -r requirements.txt" in readme


def test_this_environment_runs_what_is_locked():
    wrong = {
        name: (version, metadata.version(name))
        for name, (version, _) in locked("requirements-dev.txt").items()
        if name not in ("pip", "setuptools") and metadata.version(name) != version
    }
    assert not wrong, f"installed versions differ from the lock: {wrong}"
