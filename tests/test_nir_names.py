"""Imported graphs are readable: nodes a NIR file numbers (snnTorch's ``0``, ``1``, ``5``)
are named by kind and position, the file's name kept in the node's metadata; and a file
in the form snnTorch writes says that its reset may have been a subtract reset."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from asnn_sim.graph.ir import load_graph, save_graph
from asnn_sim.interop.nir_import import AmbiguousResetWarning, import_nir

nir = pytest.importorskip("nir")

DT = 1e-4


def _snntorch_lif(n: int, beta: float, v_leak: float = 0.0) -> "nir.LIF":
    """A Leaky as snnTorch 1.0 writes it: ``tau = dt/(1-beta)``, ``r = tau/dt`` in float32
    (an input gain ``dt r/tau`` of 1 to float32 precision), ``v_leak = v_reset = 0``."""
    f = np.float32
    tau = DT / (1 - np.full(n, beta, f))
    return nir.LIF(tau=tau, r=tau / DT, v_leak=np.full(n, v_leak, f), v_threshold=np.ones(n, f), v_reset=np.zeros(n, f))


def _numbered_mlp(names=("0", "1", "2", "3"), n_in=4, hidden=5, out=3) -> "nir.NIRGraph":
    rng = np.random.default_rng(0)
    a, b, c, d = names
    nodes = {
        "input": nir.Input(input_type=np.array([n_in])),
        a: nir.Affine(weight=rng.normal(0, 1, (hidden, n_in)).astype(np.float32), bias=np.zeros(hidden, np.float32)),
        b: _snntorch_lif(hidden, 0.9),
        c: nir.Affine(weight=rng.normal(0, 1, (out, hidden)).astype(np.float32), bias=np.zeros(out, np.float32)),
        d: _snntorch_lif(out, 0.8),
        "output": nir.Output(output_type=np.array([out])),
    }
    edges = [("input", a), (a, b), (b, c), (c, d), (d, "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def _quiet_import(graph, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AmbiguousResetWarning)
        return import_nir(graph, **kw)


def test_numbered_nodes_are_named_by_kind_and_keep_the_files_name(tmp_path):
    graph = _quiet_import(_numbered_mlp())
    assert [n.name for n in graph.nodes] == ["input", "fc1", "lif1", "fc2", "lif2", "output"]
    assert [n.metadata.get("nir_name") for n in graph.nodes] == [None, "0", "1", "2", "3", None]
    assert graph.node("lif2").inputs == ("fc2",)
    save_graph(graph, tmp_path / "g.asnn")  # the file keeps the names and the metadata
    loaded = load_graph(tmp_path / "g.asnn")
    assert [(n.name, n.metadata) for n in loaded.nodes] == [(n.name, n.metadata) for n in graph.nodes]


def test_spikingjelly_style_numbers_are_named_too():
    graph = _quiet_import(_numbered_mlp(names=("_0", "_1", "_2", "_3")))
    assert [n.name for n in graph.nodes] == ["input", "fc1", "lif1", "fc2", "lif2", "output"]
    assert graph.node("lif1").metadata["nir_name"] == "_1"


def test_other_names_are_kept_and_generated_names_skip_them():
    graph = _quiet_import(_numbered_mlp(names=("0", "lif1", "2", "3")))
    assert [n.name for n in graph.nodes] == ["input", "fc1", "lif1", "fc2", "lif2", "output"]
    assert "nir_name" not in graph.node("lif1").metadata and graph.node("lif2").metadata["nir_name"] == "3"
    named = _quiet_import(_numbered_mlp(names=("enc", "spk", "dec", "out_spk")))
    assert [n.name for n in named.nodes] == ["input", "enc", "spk", "dec", "out_spk", "output"]
    assert all("nir_name" not in n.metadata for n in named.nodes)


def test_the_sum_of_edges_into_a_numbered_node_is_an_add_named_by_kind():
    rng = np.random.default_rng(1)
    nodes = {
        "input": nir.Input(input_type=np.array([4])),
        "0": nir.Linear(weight=rng.normal(size=(3, 4))),
        "1": nir.Linear(weight=rng.normal(size=(3, 4))),
        "2": _snntorch_lif(3, 0.9),
        "output": nir.Output(output_type=np.array([3])),
    }
    edges = [("input", "0"), ("input", "1"), ("0", "2"), ("1", "2"), ("2", "output")]
    graph = _quiet_import(nir.NIRGraph(nodes=nodes, edges=edges))
    assert [n.name for n in graph.nodes] == ["input", "fc1", "fc2", "add1", "lif1", "output"]
    assert graph.node("add1").inputs == ("fc1", "fc2") and graph.node("add1").metadata["nir_name"] == "2/sum"


def test_a_file_in_snntorchs_form_warns_that_a_subtract_reset_reads_as_zero():
    with pytest.warns(AmbiguousResetWarning, match=r"nodes lif1, lif2 reset to 0, as the file says; NIR cannot record "
                                                   r"snnTorch's reset_mechanism='subtract'"):
        import_nir(_numbered_mlp())


def test_no_reset_warning_where_the_file_says_more(tmp_path):
    from asnn_sim.interop.nir_export import write_nir

    with warnings.catch_warnings():
        warnings.simplefilter("error", AmbiguousResetWarning)
        # a leak input (v_leak != 0): not snnTorch's form
        graph = nir.NIRGraph(nodes={
            "input": nir.Input(input_type=np.array([2])), "0": nir.Linear(weight=np.ones((2, 2))),
            "1": _snntorch_lif(2, 0.9, v_leak=0.5), "output": nir.Output(output_type=np.array([2]))},
            edges=[("input", "0"), ("0", "1"), ("1", "output")])
        assert import_nir(graph).node("lif1").gain[0] == pytest.approx(1.0, abs=1e-6)
        # a file asnn wrote records its resets exactly
        write_nir(_quiet_import(_numbered_mlp()), tmp_path / "ours.nir")
        import_nir(tmp_path / "ours.nir")


def test_timesteps_record_where_they_came_from(tmp_path):
    from asnn_sim.interop.nir_export import write_nir

    assert _quiet_import(_numbered_mlp()).metadata["source"]["timesteps_from"] == "default"
    assert _quiet_import(_numbered_mlp(), timesteps=7).metadata["source"]["timesteps_from"] == "given"
    write_nir(_quiet_import(_numbered_mlp(), timesteps=5), tmp_path / "t5.nir")
    again = import_nir(tmp_path / "t5.nir")
    assert again.timesteps == 5 and again.metadata["source"]["timesteps_from"] == "file"
