"""The NIR commands from the shell: asnn import, asnn export --format nir, asnn simulate
--inputs. Bad input gives one line naming the problem, exit code 1, and no file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from asnn_sim.app.cli import main

nir = pytest.importorskip("nir")


def _mlp_file(path, n_in=6, hidden=8, out=3):
    rng = np.random.default_rng(0)
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type=np.array([n_in])),
        "fc1": nir.Affine(weight=rng.normal(0, 1.5, (hidden, n_in)), bias=np.zeros(hidden)),
        "lif1": nir.LIF(tau=np.full(hidden, 1e-3), r=np.full(hidden, 10.0), v_leak=np.zeros(hidden),
                        v_threshold=np.ones(hidden), v_reset=np.zeros(hidden)),
        "fc2": nir.Linear(weight=rng.normal(0, 1.5, (out, hidden))),
        "lif2": nir.LIF(tau=np.full(out, 1e-3), r=np.full(out, 10.0), v_leak=np.zeros(out),
                        v_threshold=np.ones(out), v_reset=np.zeros(out)),
        "output": nir.Output(output_type=np.array([out])),
    }, edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")])
    nir.write(path, graph)
    return path


def _err(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_import_simulate_energy_export_from_the_shell(tmp_path, capsys):
    src = _mlp_file(tmp_path / "m.nir")
    assert main(["import", str(src), "-o", str(tmp_path / "m.asnn"), "--timesteps", "5"]) == 0
    assert "wrote" in capsys.readouterr().out
    rng = np.random.default_rng(1)
    frames = (rng.random((12, 7, 6)) < 0.5).astype(np.uint8)  # (N, T, features)
    np.savez(tmp_path / "f.npz", frames=frames, labels=rng.integers(0, 3, 12))
    assert main(["simulate", str(tmp_path / "m.asnn"), "--inputs", str(tmp_path / "f.npz"), "--layout", "NT",
                 "--out", str(tmp_path / "c"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "frames coding, T=7, 12 samples" in out and "accuracy" in out  # re-timed from 5 to the frames' 7 steps
    summary = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert summary["timesteps"] == 7 and summary["dataset"]["layout"] == "NT"
    assert main(["energy", str(tmp_path / "c"), "--hw", "loihi", "--out", str(tmp_path / "e")]) == 0
    assert main(["export", str(tmp_path / "m.asnn"), "-o", str(tmp_path / "back.nir"), "--format", "nir"]) == 0
    assert (tmp_path / "back.nir").is_file()


@pytest.mark.parametrize(("argv", "message"), [
    (["import", "{tmp}/missing.nir", "-o", "{tmp}/x.asnn"], "missing.nir: no such NIR file"),
    (["import", "{tmp}/junk.nir", "-o", "{tmp}/x.asnn"], "junk.nir: not a readable NIR file"),
    (["import", "{tmp}/m.nir", "-o", "{tmp}/x.asnn", "--encoding", "rate"], "node 'input': --encoding rate needs an image input"),
    (["import", "{tmp}/m.nir", "-o", "{tmp}/x.asnn", "--dt", "1e-2"], "node 'lif1': tau 0.001 s is shorter than dt = 0.01 s"),
    (["simulate", "{tmp}/m.asnn", "--out", "{tmp}/c"], "reads supplied frames (it has no input encoder): pass --inputs"),
    (["simulate", "{tmp}/m.asnn", "--inputs", "{tmp}/f.npy", "--out", "{tmp}/c"], "--inputs needs --layout TN"),
    (["simulate", "{tmp}/m.asnn", "--inputs", "{tmp}/bad.npy", "--layout", "TN", "--out", "{tmp}/c"],
     "frames must be (T, N, 6) for this graph; got (4, 2, 5)"),
    (["simulate", "{tmp}/m.asnn", "--inputs", "{tmp}/f.npy", "--layout", "TN", "--dataset", "digits", "--out", "{tmp}/c"],
     "does not combine with --dataset"),
    (["export", "{tmp}/soft.asnn", "-o", "{tmp}/x.nir", "--format", "nir"], "cannot export to NIR exactly: node 'lif1': soft reset"),
    (["import", "{tmp}/m.asnn", "-o", "{tmp}/x.asnn"],
     "m.asnn is an asnn graph file, not NIR: it needs no import, use it directly (asnn simulate "),
    (["import", "{tmp}/m.asnn.nir", "-o", "{tmp}/x.asnn"], "m.asnn.nir is an asnn graph file, not NIR"),  # by content, not name
])
def test_bad_input_is_one_line_exit_1_and_writes_nothing(tmp_path, capsys, argv, message):
    from asnn_sim.interop.builder import GraphBuilder
    from asnn_sim.graph.ir import save_graph

    _mlp_file(tmp_path / "m.nir")
    (tmp_path / "junk.nir").write_text("not hdf5")
    assert main(["import", str(tmp_path / "m.nir"), "-o", str(tmp_path / "m.asnn")]) == 0
    np.save(tmp_path / "f.npy", np.zeros((4, 2, 6)))
    np.save(tmp_path / "bad.npy", np.zeros((4, 2, 5)))
    save_graph(GraphBuilder((1, 4, 4), encoding="rate", timesteps=2).flatten().linear(4).neuron().linear(2).readout().build(),
               tmp_path / "soft.asnn")
    (tmp_path / "m.asnn.nir").write_bytes((tmp_path / "m.asnn").read_bytes())
    capsys.readouterr()
    before = set(tmp_path.iterdir())
    assert main([a.format(tmp=tmp_path) for a in argv]) == 1
    line = _err(capsys)
    assert line.startswith("asnn: error: ") and message in line, line
    assert set(tmp_path.iterdir()) == before


def _snntorch_like_file(path, n_in=4, hidden=5, out=3):
    """What snnTorch's exporter writes for Linear-Leaky-Linear-Leaky: layers numbered 0-3,
    LIF with tau = dt/(1-beta), r = tau/dt in float32, v_leak = v_reset = 0."""
    rng = np.random.default_rng(2)

    def lif(n, beta):
        tau = 1e-4 / (1 - np.full(n, beta, np.float32))
        return nir.LIF(tau=tau, r=tau / 1e-4, v_leak=np.zeros(n, np.float32), v_threshold=np.ones(n, np.float32),
                       v_reset=np.zeros(n, np.float32))

    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type=np.array([n_in])),
        "0": nir.Affine(weight=rng.normal(size=(hidden, n_in)).astype(np.float32), bias=np.zeros(hidden, np.float32)),
        "1": lif(hidden, 0.9),
        "2": nir.Affine(weight=rng.normal(size=(out, hidden)).astype(np.float32), bias=np.zeros(out, np.float32)),
        "3": lif(out, 0.8),
        "output": nir.Output(output_type=np.array([out])),
    }, edges=[("input", "0"), ("0", "1"), ("1", "2"), ("2", "3"), ("3", "output")])
    nir.write(path, graph)
    return path


def test_import_says_how_it_named_the_nodes_what_simulate_does_with_t_and_the_reset(tmp_path, capsys):
    src = _snntorch_like_file(tmp_path / "snn.nir")
    assert main(["import", str(src), "-o", str(tmp_path / "a.asnn")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == ("names: the file numbers its nodes; named by kind (0 -> fc1, 1 -> lif1, 2 -> fc2, 3 -> lif2), "
                      "the file's name kept in each node's metadata['nir_name']")
    assert out[2] == ("T=4 (the default: the file sets none; --timesteps sets it); asnn simulate --inputs re-times the "
                      "graph to the frames' T (its parameters are constant in time)")
    assert out[3].startswith("note: nodes lif1, lif2 reset to 0, as the file says; NIR cannot record snnTorch's "
                             "reset_mechanism='subtract' (its default)")
    assert main(["import", str(src), "-o", str(tmp_path / "b.asnn"), "--timesteps", "6"]) == 0
    assert "T=6 (--timesteps); asnn simulate --inputs re-times" in capsys.readouterr().out
    assert main(["export", str(tmp_path / "b.asnn"), "-o", str(tmp_path / "b.nir"), "--format", "nir"]) == 0
    assert main(["import", str(tmp_path / "b.nir"), "-o", str(tmp_path / "c.asnn")]) == 0
    out = capsys.readouterr().out
    assert "T=6 (the file's, written by asnn export)" in out and "note:" not in out and "names:" not in out


def test_the_t_line_says_the_true_thing_for_encoders_and_graphs_that_vary_in_time():
    from asnn_sim.app.nir_cli import timesteps_line
    from asnn_sim.interop.builder import GraphBuilder

    def built(encoding, leak):
        net = GraphBuilder((1, 4, 4), encoding=encoding, timesteps=3).flatten().linear(4).neuron(leak=leak)
        return net.linear(2).readout().build(metadata={"source": {"timesteps_from": "given"}})

    assert timesteps_line(built("rate", 0.9)) == ("T=3 (--timesteps); asnn simulate encodes each image into 3 steps with "
                                                  "rate coding (import again with --timesteps for another T)")
    assert timesteps_line(built("frames", [0.9, 0.8, 0.7])) == (
        "T=3 (--timesteps); asnn simulate --inputs needs frames of exactly 3 steps "
        "(node 'lif1': leak changes over the 3 steps)")

