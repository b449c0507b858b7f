"""NIR files that lie about themselves: refused in one line before anything large is allocated."""

from __future__ import annotations

import json

import numpy as np
import pytest

from asnn_sim.graph.ir import GraphError
from asnn_sim.interop.nir_import import MAX_TIMESTEPS, import_nir

nir = pytest.importorskip("nir")


def _lif(n):
    return nir.LIF(tau=np.full(n, 2e-4), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n))


def chain(pairs: int, metadata: dict | None = None, width: int = 3):
    """Input -> (Affine -> LIF) x pairs -> Output."""
    nodes = {"input": nir.Input(input_type=np.array([width]))}
    edges, prev = [], "input"
    for i in range(pairs):
        nodes[f"fc{i}"] = nir.Affine(weight=np.eye(width) * 2.0, bias=np.zeros(width))
        nodes[f"lif{i}"] = _lif(width)
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"lif{i}")]
        prev = f"lif{i}"
    nodes["output"] = nir.Output(output_type=np.array([width]))
    edges.append((prev, "output"))
    meta = {} if metadata is None else {"asnn": json.dumps(metadata)}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta, type_check=False)


@pytest.mark.slow
def test_a_long_chain_converts_in_order():
    # 2,000 nodes: the conversion is linear in the nodes (it used to scan every edge per node).
    graph = import_nir(chain(1_000))
    names = [n.name for n in graph.nodes]
    assert len(names) == 2 + 2 * 1_000 and names[1:5] == ["fc0", "lif0", "fc1", "lif1"] and names[-1] == "output"


@pytest.mark.parametrize("timesteps, said", [
    (10**13, "more than asnn-sim replays"),
    (MAX_TIMESTEPS + 1, "more than asnn-sim replays"),
])
def test_a_declared_timestep_count_too_large_is_refused_before_allocating(timesteps, said):
    with pytest.raises(GraphError, match=said):
        import_nir(chain(2, {"timesteps": timesteps}))


def test_the_memory_check_counts_every_neuron_node(monkeypatch):
    import os

    from asnn_sim.interop import nir_import

    page = os.sysconf("SC_PAGE_SIZE")
    real = os.sysconf
    monkeypatch.setattr(nir_import.os, "sysconf", lambda name: 2**20 // page if name == "SC_AVPHYS_PAGES" else real(name))
    # 1 MiB free: 5 neuron nodes x 4 arrays x 8 bytes x 10,000 steps = 1.5 MiB
    with pytest.raises(GraphError, match=r"needs 0\.0 GiB of per-step arrays for 5 neuron nodes, more than the 0\.0 GiB"):
        import_nir(chain(5, {"timesteps": 10_000}))
    assert import_nir(chain(5, {"timesteps": 1_000})).timesteps == 1_000  # 160 KB fits


@pytest.mark.parametrize("meta, said", [
    ({"timesteps": "4"}, r"\['timesteps'\] has the wrong type \(str"),
    ({"dt": [1e-4]}, r"\['dt'\] has the wrong type \(list"),
    ({"encoder": "hybrid"}, r"\['encoder'\] has the wrong type \(str"),
    ({"class_names": "abc"}, r"\['class_names'\] has the wrong type \(str"),
    ({"class_names": [1, 2, 3]}, "must be a list of strings"),
    ({"timesteps": True}, r"\['timesteps'\] has the wrong type \(bool"),
])
def test_asnn_metadata_of_the_wrong_type_is_named(meta, said):
    with pytest.raises(GraphError, match=said):
        import_nir(chain(1, meta))


def test_a_non_object_metadata_is_refused():
    g = chain(1)
    g.metadata["asnn"] = json.dumps([1, 2])
    with pytest.raises(GraphError, match=r"metadata\['asnn'\] must be a JSON object, not list"):
        import_nir(g)


def test_colliding_names_are_named_not_called_recurrent():
    inner = chain(1)
    g = chain(1)
    g.nodes["fc0.lif0"] = _lif(3)  # flattens to 'fc0/lif0', as would node 'lif0' of a subgraph 'fc0'
    g.nodes["fc0"] = inner
    with pytest.raises(GraphError, match="two NIR nodes are both named 'fc0/"):
        import_nir(g)


def test_a_graph_file_given_as_nir_is_named_for_what_it_is(tmp_path):
    """A .asnn file is told by its content (any name); other safetensors files and headers
    that claim more than the file holds are unreadable NIR, in one line."""
    from safetensors.numpy import save_file

    from asnn_sim.graph.ir import save_graph
    from asnn_sim.interop.builder import GraphBuilder

    save_graph(GraphBuilder((3,), encoding="frames", timesteps=2).linear(2).neuron().linear(2).readout().build(),
               tmp_path / "g.nir")
    with pytest.raises(GraphError, match=r"g.nir is an asnn graph file, not NIR: it needs no import, use it directly "
                                         r"\(asnn simulate \S*g.nir; asnn_sim.api.load in Python\)$"):
        import_nir(tmp_path / "g.nir")
    save_file({"w": np.ones(2)}, str(tmp_path / "w.nir"))
    (tmp_path / "lie.nir").write_bytes((2**40).to_bytes(8, "little") + b'{"__metadata__": {"format": "asnn-graph"}}')
    for name in ("w.nir", "lie.nir"):
        with pytest.raises(GraphError, match=f"{name}: not a readable NIR file"):
            import_nir(tmp_path / name)
