"""A replay leaves torch's thread count alone (asnn_sim/util/threads.py says why it matters)."""

import pytest
import os
import subprocess
import sys

SCRIPT = """
import torch
import asnn_sim.api as asnn
before = torch.get_num_threads()
images, labels = asnn.load_images("digits", limit=4)
net = asnn.GraphBuilder((1, 8, 8), encoding="temporal", timesteps=2, seed=0)
net.conv(4, 3).neuron().flatten().linear(10).readout()
asnn.simulate(net.build(), images, labels)
print(before, torch.get_num_threads())
"""


@pytest.mark.slow
def test_a_replay_keeps_the_thread_count_torch_was_given():
    # One torch thread, two Numba threads: without the guard the replay would leave torch
    # on Numba's two (measured: 1 before, 2 after).
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="2")
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["1", "1"]


PROBE = """
import os, sys
from asnn_sim.app.cli import main
sys.argv = ["asnn"] + sys.argv[1:]
code = main(sys.argv[1:])
import numba, torch
print(os.environ.get("OMP_WAIT_POLICY"), torch.get_num_threads(), numba.get_num_threads(), code)
"""


def _clean_environment() -> dict:
    """This environment without thread settings (another test or a Dask worker may have set some)."""
    from asnn_sim.util.threads import THREAD_VARIABLES, WAIT_POLICY

    return {k: v for k, v in os.environ.items() if k not in (*THREAD_VARIABLES, *WAIT_POLICY)}


def _probe(args, **env):
    base = _clean_environment()
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env={**base, **env}, capture_output=True, text=True,
                          check=True)
    return done.stdout.split()[-4:]


@pytest.mark.slow
def test_threads_flag_sets_torch_and_numba_and_the_wait_policy_is_passive_unless_exported(tmp_path):
    # A replay of a missing graph fails before torch or Numba loads: the probe imports
    # them after the command, so they start with what the command put into the environment.
    missing = ["simulate", str(tmp_path / "missing.asnn"), "--out", str(tmp_path / "c")]
    assert _probe(missing + ["--threads", "1"]) == ["passive", "1", "1", "1"]
    cores = str(len(os.sched_getaffinity(0)))
    assert _probe(missing, OMP_WAIT_POLICY="active") == ["active", cores, cores, "1"]  # the user's choice wins


@pytest.mark.slow
def test_a_training_run_records_the_thread_count_it_was_given(tmp_path):
    # In a process of its own: --threads changes the process's environment and runtimes.
    cmd = [sys.executable, "-m", "asnn_sim.app.cli", "train", "--epochs", "1", "--limit", "50", "--quiet",
           "--out", str(tmp_path / "r"), "--threads", "1"]
    subprocess.run(cmd, env=_clean_environment(), capture_output=True, text=True, check=True)
    import json

    assert json.loads((tmp_path / "r" / "summary.json").read_text())["torch_threads"] == 1


def test_workers_share_the_cores():
    from asnn_sim.util.threads import worker_environment

    assert worker_environment(2, cores=8)["OMP_NUM_THREADS"] == "4"
    assert worker_environment(3, cores=8)["OMP_NUM_THREADS"] == "2"  # 3 x 2 <= 8
    assert "NUMBA_NUM_THREADS" not in worker_environment(2)  # set at run time (numba_threads_from_environment)
    assert worker_environment(4, cores=2)["OMP_NUM_THREADS"] == "1"  # never below one
    assert worker_environment(2, cores=4)["OMP_WAIT_POLICY"] == "passive"


def test_a_benchmark_contender_starts_without_the_users_thread_settings(monkeypatch):
    from asnn_sim.util.threads import stock_environment

    for name, value in {"OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "OMP_WAIT_POLICY": "active",
                        "GOMP_SPINCOUNT": "0", "MALLOC_ARENA_MAX": "2", "ASNN_DATA_DIR": "/data"}.items():
        monkeypatch.setenv(name, value)
    env = stock_environment()
    assert not {"OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "MALLOC_ARENA_MAX"} & set(env)
    assert env["ASNN_DATA_DIR"] == "/data"  # everything else is kept
