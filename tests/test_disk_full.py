"""Every writing command on a full disk: one line naming the file, exit 1, nothing left behind.

The commands run in a private mount namespace (``unshare``) on a 64 KiB tmpfs, so the
disk is really full (torch, safetensors, HDF5 and pyarrow each meet ENOSPC in their own
code) and nothing stays mounted if the test dies.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, trained_runs):
    """On the real disk: a trained run and its graph, a NIR file and its import, a replay."""
    import numpy as np

    from asnn_sim.app.cli import main

    nir = pytest.importorskip("nir")
    d = tmp_path_factory.mktemp("inputs")
    (d / "run").symlink_to(trained_runs["hybrid"])
    n = 128  # a 128 x 128 float64 weight: 128 KiB, twice the full disk, in every format
    lif = nir.LIF(tau=np.full(n, 2e-4), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n))
    weight = np.random.default_rng(0).normal(size=(n, n))  # random: HDF5's compression cannot shrink it
    nir.write(d / "g.nir", nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([n])),
                                               "fc": nir.Linear(weight=weight), "lif": lif,
                                               "output": nir.Output(output_type=np.array([n]))},
                                        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")]))
    assert main(["import", str(d / "g.nir"), "-o", str(d / "nir.asnn")]) == 0
    assert main(["export", str(d / "run"), "-o", str(d / "g.asnn")]) == 0
    assert main(["simulate", str(d / "g.asnn"), "--limit", "16", "--out", str(d / "counts"), "--quiet"]) == 0
    return d


def _commands(d: Path, full: Path) -> dict[str, list[str]]:
    return {
        "train": ["train", "--epochs", "1", "--limit", "40", "--timesteps", "2", "--quiet", "--out", f"{full}/run"],
        "export": ["export", f"{d}/run", "-o", f"{full}/g.asnn"],
        "export nir": ["export", f"{d}/nir.asnn", "--format", "nir", "-o", f"{full}/g.nir"],
        "import": ["import", f"{d}/g.nir", "-o", f"{full}/i.asnn"],
        "simulate": ["simulate", f"{d}/g.asnn", "--limit", "16", "--out", f"{full}/counts", "--quiet"],
        "energy": ["energy", f"{d}/counts", "--out", f"{full}/energy"],
        "compare": ["compare", "--encodings", "hybrid", "--epochs", "1", "--limit", "8", "--seeds", "0", "--no-ann",
                    "--hw", "loihi", "--cache-dir", f"{d}/cache", "--out", f"{full}/report", "--quiet"],
    }


DRIVER = """
import contextlib, io, json, os, sys
from asnn_sim.app.cli import main
full, logs, commands = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
for tag, argv in commands.items():
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    with open(os.path.join(logs, tag + ".json"), "w") as f:
        json.dump({"code": code, "err": err.getvalue(), "left": sorted(os.listdir(full))}, f)
"""


@pytest.mark.slow
def test_every_writing_command_on_a_full_disk(inputs, tmp_path):
    import json

    if shutil.which("unshare") is None:
        pytest.fail("this test needs util-linux's unshare (a private mount namespace for a small tmpfs)")
    full, logs = tmp_path / "full", tmp_path / "logs"
    full.mkdir()
    logs.mkdir()
    commands = {name.replace(" ", "-"): argv for name, argv in _commands(inputs, full).items()}
    # One interpreter runs every command (imports once), inside the namespace with the tmpfs.
    driver = " ".join(shlex.quote(a) for a in [sys.executable, "-c", DRIVER, str(full), str(logs), json.dumps(commands)])
    script = f"mount -t tmpfs -o size=64k tmpfs {full} || exit 99\n{driver}"
    namespace = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user", "--mount"]
    done = subprocess.run([*namespace, "sh", "-c", script], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode != 99, f"could not mount a tmpfs in a private namespace: {done.stderr}"
    assert done.returncode == 0, done.stderr[-3000:]
    for tag in commands:
        got = json.loads((logs / f"{tag}.json").read_text())
        err = got["err"].strip().splitlines()
        assert got["code"] == 1, (tag, err)
        assert len(err) == 1 and err[0].startswith("asnn: error: ") and "no space left on device" in err[0].lower(), (tag, err)
        assert got["left"] == [], (tag, "left behind", got["left"])
