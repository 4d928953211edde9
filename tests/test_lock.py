"""The lock file: every pin hashed, every dependency range of pyproject.toml satisfied by its pin, and the
environment the tests run in installed from it (`make setup` / `make test` / CI)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[1]
LOCK = ROOT / "requirements" / "lock.txt"


def pins() -> dict[str, tuple[str, list[str]]]:
    """{package: (version, hashes)} of the lock entries that apply to this interpreter and platform."""
    text = LOCK.read_text().replace("\\\n", " ")
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        spec, _, marker = line.split(" --hash=", 1)[0].partition(";")
        name, _, version = spec.strip().partition("==")
        if marker.strip() and not Marker(marker.strip()).evaluate():
            continue
        out[canonicalize_name(name)] = (version, re.findall(r"sha256:[0-9a-f]{64}", line))
    return out


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    return [Requirement(r) for r in reqs]


def test_every_pin_is_exact_and_hashed():
    found = pins()
    assert len(found) > 40
    for name, (version, hashes) in found.items():
        assert re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version), name
        assert hashes, f"{name} has no hash in the lock"


@pytest.mark.parametrize("req", requirements(), ids=str)
def test_the_lock_satisfies_pyproject(req):
    """Run `make lock` after changing a dependency in pyproject.toml."""
    found = pins()
    name = canonicalize_name(req.name)
    assert name in found, f"{req.name} is not in requirements/lock.txt: run make lock"
    assert req.specifier.contains(found[name][0], prereleases=True), (
        f"{req.name} {found[name][0]} in the lock is outside {req.specifier}: run make lock"
    )
    for extra in req.extras:  # e.g. dask[distributed]: the extra's packages are locked too
        for dep in metadata.requires(req.name) or []:
            dep_req = Requirement(dep)
            if (
                dep_req.marker
                and dep_req.marker.evaluate({"extra": extra})
                and not dep_req.marker.evaluate({"extra": ""})
            ):
                assert canonicalize_name(dep_req.name) in found, (
                    f"{dep_req.name} (extra {extra}) is not locked"
                )


def test_this_environment_was_installed_from_the_lock():
    """The installed versions are the locked ones (make setup installs with --require-hashes)."""
    found = pins()
    differ = []
    for name, (version, _) in found.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            differ.append(f"{name} not installed")
            continue
        if installed != version:
            differ.append(f"{name} {installed} (lock: {version})")
    assert not differ, "run make setup: " + ", ".join(differ)


def test_the_makefile_installs_from_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes --no-deps -r $(LOCK)" in makefile
    assert re.search(r"^\$\(STAMP\): pyproject.toml \$\(LOCK\)$", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
