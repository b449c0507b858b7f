"""Installation metadata: ranges in pyproject.toml, exact pins for the venvs in constraints.txt.

pyproject.toml must not pin torch exactly (an exact pin clashes with the torch a researcher
already has, and on an ordinary Linux machine pulls the CUDA build); the Makefile's venvs
and CI take torch 2.13.0, whose CPU build lies on the development machine's disk, from
constraints.txt.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PINNED_TORCH = Version("2.13.0")


def _requirements(lines) -> dict[str, Requirement]:
    return {(r := Requirement(line)).name.lower(): r for line in lines}


def _constraints() -> dict[str, Requirement]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return _requirements(line.split("#")[0].strip() for line in lines if line.split("#")[0].strip())


def test_pyproject_declares_a_torch_range_that_admits_the_pinned_cpu_wheel():
    torch = _requirements(PYPROJECT["project"]["dependencies"])["torch"]
    specs = list(torch.specifier)
    assert specs, "torch needs a lower bound (the code uses torch 2.x APIs)"
    assert all(s.operator not in ("==", "===") for s in specs), f"torch must be a range, not a pin: {torch}"
    assert torch.specifier.contains(PINNED_TORCH)
    assert torch.specifier.contains("2.13.0+cpu")  # the local CPU wheel's version
    assert not torch.specifier.contains("1.13.1")


def test_constraints_pin_torch_2_13_0():
    torch = _constraints()["torch"]
    assert [(s.operator, s.version) for s in torch.specifier] == [("==", str(PINNED_TORCH))]


def test_every_project_install_in_the_makefile_uses_the_constraints():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^PIP\s*:?=.*pip install .*-c \$\(CONSTRAINTS\)", makefile, re.M)
    assert re.search(r"^CONSTRAINTS\s*:?=\s*constraints\.txt\s*$", makefile, re.M)
    installs = [line.strip() for line in makefile.splitlines() if line.startswith("\t") and "pip install" in line]
    installs += [line.strip() for line in makefile.splitlines() if line.startswith("\t") and "$(PIP)" in line]
    project_installs = [line for line in installs if "-e '." in line]
    assert project_installs, "no `pip install -e .` in the Makefile"
    for line in project_installs:
        assert "$(PIP)" in line, f"installs the project without constraints.txt: {line}"
    stamp_rule = re.search(r"^\$\(STAMP\):(.*)$", makefile, re.M)
    assert stamp_rule and "$(CONSTRAINTS)" in stamp_rule.group(1), "the venv must be rebuilt when the pins change"


def test_license_is_an_spdx_expression_with_its_file():
    project = PYPROJECT["project"]
    assert project["license"] == "MIT"
    for name in project["license-files"]:
        assert (ROOT / name).is_file(), name
    # SPDX strings and license-files need setuptools >= 77 in the build environment.
    setuptools = _requirements(PYPROJECT["build-system"]["requires"])["setuptools"]
    assert not setuptools.specifier.contains("76.1.0")
    assert not any(c.startswith("License ::") for c in project.get("classifiers", []))


def test_notebooks_extra_serves_jupyter_and_dev_stays_lean():
    extras = PYPROJECT["project"]["optional-dependencies"]
    notebooks = _requirements(extras["notebooks"])
    assert {"notebook", "jupyterlab"} & set(notebooks)
    assert "ipykernel" in notebooks
    dev = _requirements(extras["dev"])
    assert not {"notebook", "jupyterlab", "jupyter"} & set(dev), "CI executes notebooks with nbclient; no server"
    assert re.search(r"^notebooks:", (ROOT / "Makefile").read_text(), re.M)


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / "README.md").read_text()
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "make test" in ci


def test_nir_is_an_extra_that_dev_and_constraints_carry():
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert "nir" in _requirements(extras["nir"])
    assert {"nir", "nirtorch"} <= set(_requirements(extras["dev"])), "the NIR tests need both (snnTorch's exporter uses nirtorch)"
    assert "nir" not in _requirements(PYPROJECT["project"]["dependencies"]), "the core install stays lean"
    pins = (ROOT / "constraints.txt").read_text()
    assert re.search(r"^nir==", pins, re.M) and re.search(r"^nirtorch==", pins, re.M)


def test_tonic_is_an_extra_that_make_setup_installs():
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert "tonic" in set(_requirements(extras["events"]))
    assert "tonic" not in set(_requirements(PYPROJECT["project"]["dependencies"])), "the core install stays lean"
    setup = re.search(r"^\$\(STAMP\):.*?^\n", (ROOT / "Makefile").read_text(), re.M | re.S).group(0)
    assert "events]" in setup, "make setup installs the events extra (notebook 06 and the ToFrame test need it)"
    assert re.search(r"^tonic==", (ROOT / "constraints.txt").read_text(), re.M)


def test_dask_is_an_extra_that_make_setup_installs():
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {"distributed", "dask-jobqueue"} <= set(_requirements(extras["cluster"]))
    core = set(_requirements(PYPROJECT["project"]["dependencies"]))
    assert not {"dask", "distributed"} & core, "the core install stays lean"
    setup = re.search(r"^\$\(STAMP\):.*?^\n", (ROOT / "Makefile").read_text(), re.M | re.S).group(0)
    assert "[dev,cluster," in setup, "make setup installs the cluster extra (the cluster tests need it)"
    pins = (ROOT / "constraints.txt").read_text()
    assert re.search(r"^distributed==", pins, re.M) and re.search(r"^dask==", pins, re.M)
