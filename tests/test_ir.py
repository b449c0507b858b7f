"""The graph IR: validation on construction, and the .asnn file format under corruption."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from safetensors.numpy import load_file, save_file

from asnn_sim.graph.counts_schema import SLOT
from asnn_sim.graph.ir import (
    Conv2d,
    Flatten,
    ReLU,
    Graph,
    GraphError,
    Input,
    Linear,
    Neuron,
    Readout,
    _digest,
    content_sha256,
    load_graph,
    save_graph,
)
from graph_factory import Spec, build, specs

SPEC = Spec("hybrid", 3, (2, 6, 6), [(4, 3, 1, 1, "max"), (5, 3, 1, 1, None)], True, 6, 3, 0.3, True, False, 7)


@pytest.fixture
def graph() -> Graph:
    return build(SPEC)


@pytest.fixture
def graph_file(graph, tmp_path):
    path = tmp_path / "g.asnn"
    save_graph(graph, path)
    return path


def _raw(path):
    """The file's tensors and metadata, for tampering."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        meta = dict(f.metadata())
    return load_file(str(path)), meta


def _rewrite(path, tensors, meta, doc=None, fix_checksums=True):
    if doc is not None:
        if fix_checksums:
            for node in doc["nodes"]:
                for a, info in node["arrays"].items():
                    arr = tensors[f"{node['name']}.{a}"]
                    info.update(shape=list(arr.shape), dtype=str(arr.dtype), sha256=_digest(arr))
        meta["graph"] = json.dumps(doc)
    if fix_checksums and "content_sha256" in meta:  # tamper past the whole-content hash too
        meta["content_sha256"] = content_sha256(meta["graph"], tensors)
    save_file(tensors, str(path), metadata=meta)


def _assert_same(a: Graph, b: Graph) -> None:
    assert [n.name for n in a.nodes] == [n.name for n in b.nodes]
    assert a.kind == b.kind and a.timesteps == b.timesteps and a.shapes == b.shapes
    for x, y in zip(a.nodes, b.nodes):
        assert type(x) is type(y) and x.inputs == y.inputs and x.attrs() == y.attrs()
        for k, arr in x.arrays().items():
            np.testing.assert_array_equal(arr, y.arrays()[k])
            assert arr.dtype == y.arrays()[k].dtype


@settings(max_examples=20)
@given(specs())
def test_round_trip_preserves_everything(tmp_path_factory, spec):
    try:
        g = build(spec)
    except GraphError:
        assume(False)
    g.metadata = {"note": "hello", "accuracy": 0.5}
    path = tmp_path_factory.mktemp("rt") / "g.asnn"
    save_graph(g, path)
    back = load_graph(path)
    _assert_same(g, back)
    assert back.metadata == g.metadata


def test_files_are_readable_by_others_under_the_usual_umask(tmp_path):
    """``.asnn`` files and recordings take the umask's mode (0644 under 022), not the
    0600 of a temporary file (safetensors and numpy write through one)."""
    import os

    import asnn_sim.api as asnn

    graph = asnn.GraphBuilder((1, 4, 4), encoding="rate", timesteps=2).flatten().linear(3).neuron().linear(2).readout().build()
    old = os.umask(0o022)
    try:
        asnn.save(graph, tmp_path / "g.asnn")
        asnn.simulate(graph, np.zeros((2, 1, 4, 4)), record=True, out=tmp_path / "counts")
    finally:
        os.umask(old)
    for path in (tmp_path / "g.asnn", tmp_path / "counts" / "recording.npz", tmp_path / "counts" / "counts.csv"):
        assert path.stat().st_mode & 0o777 == 0o644, path.name


def test_file_is_plain_safetensors_without_pickle(graph_file):
    data = graph_file.read_bytes()
    header_len = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + header_len])
    assert header["__metadata__"]["format"] == "asnn-graph"
    assert b"\x80\x04" not in data[:16] and b"cnumpy" not in data  # no pickle stream


def test_truncated_file(graph_file):
    data = graph_file.read_bytes()
    graph_file.write_bytes(data[: len(data) // 2])
    with pytest.raises(GraphError, match="not a readable .asnn file"):
        load_graph(graph_file)


def test_flipped_byte_in_weights_fails_the_checksum(graph_file):
    data = bytearray(graph_file.read_bytes())
    data[-5] ^= 0x40  # the last tensor bytes
    graph_file.write_bytes(bytes(data))
    with pytest.raises(GraphError, match="fails its checksum"):
        load_graph(graph_file)


def test_flipped_byte_in_header(graph_file):
    data = bytearray(graph_file.read_bytes())
    data[12] ^= 0xFF
    graph_file.write_bytes(bytes(data))
    with pytest.raises(GraphError):
        load_graph(graph_file)


def _a_node_with_bias(doc):
    return next(n for n in doc["nodes"] if "bias" in n["arrays"])


def test_an_edited_description_fails_the_content_checksum(graph_file):
    # An edit that leaves a valid graph (here the class names) is caught by the content hash.
    tensors, meta = _raw(graph_file)
    doc = json.loads(meta["graph"])
    doc["class_names"] = list(reversed(doc["class_names"])) or ["edited"]
    meta["graph"] = json.dumps(doc)
    _rewrite(graph_file, tensors, meta, fix_checksums=False)
    with pytest.raises(GraphError, match="does not match its checksum: the file was changed"):
        load_graph(graph_file)


@pytest.mark.parametrize("fix_checksums", [False, True])
def test_a_deleted_bias_entry_is_refused_not_dropped(graph_file, fix_checksums):
    # Deleting one node's arrays.bias entry from the JSON would silently drop that bias;
    # its tensor stays in the file with no node declaring it, hashes fixed up or not.
    tensors, meta = _raw(graph_file)
    doc = json.loads(meta["graph"])
    node = _a_node_with_bias(doc)
    del node["arrays"]["bias"]
    _rewrite(graph_file, tensors, meta, doc, fix_checksums=fix_checksums)
    with pytest.raises(GraphError, match=rf"tensor '{node['name']}.bias' is in the file but no node declares it"):
        load_graph(graph_file)


def test_two_arrays_swapped_with_their_hash_entries_are_caught(graph_file):
    tensors, meta = _raw(graph_file)
    doc = json.loads(meta["graph"])
    a, b = [n for n in doc["nodes"] if "weight" in n["arrays"]][:2]
    ka, kb = f"{a['name']}.weight", f"{b['name']}.weight"
    tensors[ka], tensors[kb] = tensors[kb], tensors[ka]
    a["arrays"]["weight"], b["arrays"]["weight"] = b["arrays"]["weight"], a["arrays"]["weight"]
    meta["graph"] = json.dumps(doc)
    _rewrite(graph_file, tensors, meta, fix_checksums=False)
    with pytest.raises(GraphError, match="does not match its checksum"):
        load_graph(graph_file)


def test_wrong_schema_version(graph_file):
    tensors, meta = _raw(graph_file)
    meta["schema_version"] = "99"
    _rewrite(graph_file, tensors, meta)
    with pytest.raises(GraphError, match="schema version '99' is not supported"):
        load_graph(graph_file)


def test_not_an_asnn_file(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"x": np.zeros(3)}, str(path))
    with pytest.raises(GraphError, match=r"other.safetensors is not an \.asnn graph file"):
        load_graph(path)
    with pytest.raises(GraphError, match="no such graph file"):
        load_graph(tmp_path / "missing.asnn")


def test_nan_weight_is_named(graph_file):
    tensors, meta = _raw(graph_file)
    tensors["conv1.weight"] = tensors["conv1.weight"].copy()
    tensors["conv1.weight"].flat[3] = np.nan
    _rewrite(graph_file, tensors, meta, json.loads(meta["graph"]))
    with pytest.raises(GraphError, match="node 'conv1': weight contains NaN"):
        load_graph(graph_file)


def test_shape_mismatch_is_named(graph_file):
    tensors, meta = _raw(graph_file)
    w = tensors["conv1.weight"]
    tensors["conv1.weight"] = np.ascontiguousarray(w[:, :, :1])  # wrong input channels
    _rewrite(graph_file, tensors, meta, json.loads(meta["graph"]))
    with pytest.raises(GraphError, match="node 'conv1': weight expects 1 input channels"):
        load_graph(graph_file)


def test_declared_shape_must_match_stored(graph_file):
    tensors, meta = _raw(graph_file)
    doc = json.loads(meta["graph"])
    doc["nodes"][1]["arrays"]["bias"]["shape"] = [9, 9]
    _rewrite(graph_file, tensors, meta, doc, fix_checksums=False)
    with pytest.raises(GraphError, match="node 'conv0': array bias is"):
        load_graph(graph_file)


def test_unknown_node_type_is_named(graph_file):
    tensors, meta = _raw(graph_file)
    doc = json.loads(meta["graph"])
    doc["nodes"][2]["kind"] = "dendrite"
    _rewrite(graph_file, tensors, meta, doc)
    with pytest.raises(GraphError, match="node 'act0': unknown node type 'dendrite'"):
        load_graph(graph_file)


def test_missing_array_is_named(graph_file):
    tensors, meta = _raw(graph_file)
    del tensors["act0.leak"]
    _rewrite(graph_file, tensors, meta)
    with pytest.raises(GraphError, match="node 'act0': array leak is missing"):
        load_graph(graph_file)


def _tiny(**overrides):
    T = 2
    parts = dict(
        conv=Conv2d("conv", ("input",), weight=np.ones((1, 2, 1, 3, 3)), bias=np.zeros((1, 2)), weight_set=np.zeros(T, int), padding=1),
        lif=Neuron("lif", ("conv",), leak=np.ones(T), gain=np.ones(T)),
    )
    parts.update(overrides)
    nodes = [Input("input", (), shape=(1, 4, 4)), parts["conv"], parts["lif"]]
    nodes += [Flatten("flat", ("lif",)), Linear("fc", ("flat",), weight=np.ones((1, 3, 32)), bias=np.zeros((1, 3)), weight_set=np.zeros(T, int)), Readout("out", ("fc",))]
    return Graph(nodes, "snn", T)


def test_construction_checks_name_the_node():
    assert _tiny().shapes["conv"] == (2, 4, 4)
    with pytest.raises(GraphError, match="node 'lif': leak has 3 entries, expected one per timestep"):
        _tiny(lif=Neuron("lif", ("conv",), leak=np.ones(3), gain=np.ones(3)))
    with pytest.raises(GraphError, match="node 'conv': bias has shape"):
        Conv2d("conv", ("input",), weight=np.ones((1, 2, 1, 3, 3)), bias=np.zeros((1, 5)), weight_set=np.zeros(2, int))
    with pytest.raises(GraphError, match="node 'conv': weight_set entries must lie in"):
        Conv2d("conv", ("input",), weight=np.ones((1, 2, 1, 3, 3)), bias=np.zeros((1, 2)), weight_set=np.array([0, 1]))
    with pytest.raises(GraphError, match="node 'lif': reads 'nowhere'"):
        _tiny(lif=Neuron("lif", ("nowhere",), leak=np.ones(2), gain=np.ones(2)))
    with pytest.raises(GraphError, match="node 'conv': weight has dtype float16"):
        Conv2d("conv", ("input",), weight=np.ones((1, 2, 1, 3, 3), np.float16), bias=np.zeros((1, 2)), weight_set=np.zeros(2, int))
    with pytest.raises(GraphError, match="node 'lif': threshold contains NaN"):
        Neuron("lif", ("conv",), leak=np.ones(2), gain=np.ones(2), threshold=float("nan"))
    with pytest.raises(GraphError, match="node 'lif': threshold must be positive"):
        Neuron("lif", ("conv",), leak=np.ones(2), gain=np.ones(2), threshold=np.array([1.0, 0.0]))


def test_neuron_generalisation_is_checked_against_the_graph():
    T = 2
    ok = _tiny(lif=Neuron("lif", ("conv",), leak=np.ones(T), gain=np.ones(T), threshold=np.full((2, 1, 1), 0.7),
                          bias=np.zeros((2, 4, 4)), reset="hard", v_reset=-0.1))
    assert ok.node("lif").reset == "hard" and ok.node("lif").threshold.shape == (2, 1, 1)
    with pytest.raises(GraphError, match=r"node 'lif': threshold of shape \(3, 1, 1\) does not broadcast to the neurons' shape \(2, 4, 4\)"):
        _tiny(lif=Neuron("lif", ("conv",), leak=np.ones(T), gain=np.ones(T), threshold=np.ones((3, 1, 1))))
    with pytest.raises(GraphError, match="node 'lif': bias of shape"):
        _tiny(lif=Neuron("lif", ("conv",), leak=np.ones(T), gain=np.ones(T), bias=np.ones(5)))
    with pytest.raises(GraphError, match="node 'lif': reset must be 'soft' or 'hard'"):
        Neuron("lif", ("conv",), leak=np.ones(T), gain=np.ones(T), reset="zero")
    with pytest.raises(GraphError, match="node 'lif': v_reset must be a finite number"):
        Neuron("lif", ("conv",), leak=np.ones(T), gain=np.ones(T), reset="hard", v_reset=float("inf"))


def test_typed_edges_name_the_node():
    T = 2
    # a neuron reads a current, not spikes
    with pytest.raises(GraphError, match="node 'lif2': a neuron node reads a current .* but 'lif' gives binary events"):
        nodes = list(_tiny().nodes)
        nodes.insert(3, Neuron("lif2", ("lif",), leak=np.ones(T), gain=np.ones(T)))
        nodes[4] = Flatten("flat", ("lif2",))
        Graph(nodes, "snn", T)
    # a current feeds exactly one node
    g = _tiny()
    nodes = list(g.nodes)
    nodes.insert(3, Neuron("lif_b", ("conv",), leak=np.ones(T), gain=np.ones(T)))
    with pytest.raises(GraphError, match="node 'conv': its current must feed exactly one node .* it feeds 2: lif, lif_b"):
        Graph(nodes, "snn", T)
    # a conv reads events, not a current
    with pytest.raises(GraphError, match="node 'conv2': a conv2d node reads events, but 'conv' gives a current"):
        nodes = list(g.nodes)
        nodes[2] = Conv2d("conv2", ("conv",), weight=np.ones((1, 2, 2, 1, 1)), bias=None, weight_set=np.zeros(T, int))
        Graph(nodes, "snn", T)
    # relu and neuron belong to ann and snn graphs
    with pytest.raises(GraphError, match="node 'relu': a relu node does not belong in an snn graph"):
        nodes = list(g.nodes)
        nodes[2] = ReLU("relu", ("conv",))
        nodes[3] = Flatten("flat", ("relu",))
        Graph(nodes, "snn", T)


def test_compare_survives_a_round_trip_and_schema_2_files_load_as_gt(tmp_path):
    g = _tiny(lif=Neuron("lif", ("conv",), leak=np.ones(2), gain=np.ones(2), compare="ge"))
    save_graph(g, tmp_path / "ge.asnn")
    assert load_graph(tmp_path / "ge.asnn").node("lif").compare == "ge"
    # a schema-2 file (written before compare existed) has no compare attribute: v > threshold
    save_graph(_tiny(), tmp_path / "v2.asnn")
    tensors, meta = _raw(tmp_path / "v2.asnn")
    doc = json.loads(meta["graph"])
    for node in doc["nodes"]:
        node["attrs"].pop("compare", None)
    meta["schema_version"] = "2"
    _rewrite(tmp_path / "v2.asnn", tensors, meta, doc)
    assert load_graph(tmp_path / "v2.asnn").node("lif").compare == "gt"


def test_schema_1_file_is_migrated_and_replays_as_before():
    """A file written by asnn-sim 0.1 (schema 1) loads, and replays exactly as 0.1 did."""
    from pathlib import Path

    from asnn_sim.graph.encoding import EncoderSpec
    from asnn_sim.sim import Simulator

    data = Path(__file__).parent / "data"
    expected = json.loads((data / "small_v1_expected.json").read_text())
    graph = load_graph(data / "small_v1.asnn")
    neurons = [n for n in graph.nodes if n.kind == "neuron"]
    assert neurons and all(n.reset == "soft" and n.threshold.tolist() == [1.0] and n.bias is None for n in neurons)
    frames = EncoderSpec.from_dict(graph.input.encoder).encode(np.array(expected["images"]))
    sim = Simulator(graph, "float64", batch_size=8)
    result = sim.run_batch(frames, record=True)
    np.testing.assert_array_equal(result.logits, np.array(expected["logits"]))  # bit for bit
    totals = result.counts.sum(axis=(0, 2))
    for layer, counts in expected["counts_by_layer"].items():
        # schema 1 kept a synaptic layer and its neurons on one row: now two rows
        neuron = graph.consumers(layer)[0].name
        for column in ("in_events_binary", "in_events_graded", "in_events_analog", "synaptic_acs", "synaptic_macs", "dense_macs"):
            assert totals[sim.row_index[layer], SLOT[column]] == counts[column], (layer, column)
        if graph.node(neuron).kind == "neuron":
            for column in ("neurons", "neurons_touched", "neuron_mults", "neuron_adds", "neuron_compares", "neuron_resets", "output_spikes"):
                assert totals[sim.row_index[neuron], SLOT[column]] == counts[column], (neuron, column)
    for name, per_step in expected["spikes_per_step"].items():
        neuron = graph.consumers(name)[0].name
        assert result.spikes[neuron].reshape(graph.timesteps, -1).sum(axis=1).tolist() == per_step
    # saving writes the current schema, which loads back the same
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        save_graph(graph, Path(tmp) / "v2.asnn")
        again = load_graph(Path(tmp) / "v2.asnn")
    _assert_same(graph, again)


@pytest.mark.parametrize("edit, said", [
    (lambda doc: doc.update(nodes={n["name"]: n for n in doc["nodes"]}), "'nodes' must be a JSON list, not dict"),
    (lambda doc: doc["nodes"].__setitem__(1, list(doc["nodes"][1].items())), "node 1 must be a JSON object, not list"),
    (lambda doc: doc["nodes"][0].update(inputs="conv1"), "'inputs' must be a JSON list, not str"),
    (lambda doc: doc.update(timesteps="4"), "'timesteps' must be an integer"),
    (lambda doc: doc["nodes"][1]["arrays"].update(weight=[1, 2]), "array 'weight' must be a JSON object, not list"),
])
def test_a_description_of_the_wrong_shape_is_one_line(graph_file, edit, said):
    tensors, meta = _raw(graph_file)
    doc = json.loads(meta["graph"])
    edit(doc)
    meta["graph"] = json.dumps(doc)
    _rewrite(graph_file, tensors, meta)
    with pytest.raises(GraphError, match=rf"graph description is malformed \(.*{said}"):
        load_graph(graph_file)


def test_saving_a_graph_twice_gives_identical_bytes(tmp_path):
    """safetensors orders its metadata at random per process; save_graph fixes the order."""
    import subprocess
    import sys

    from asnn_sim.interop.builder import GraphBuilder

    graph = GraphBuilder((1, 6, 6), encoding="hybrid", timesteps=2, seed=1).conv(3, 3).neuron().flatten().linear(4).readout().build()
    save_graph(graph, tmp_path / "a.asnn")
    code = ("import sys; from asnn_sim.graph.ir import load_graph, save_graph; "
            "save_graph(load_graph(sys.argv[1]), sys.argv[2])")
    for name in ("b.asnn", "c.asnn"):  # other processes, other hash seeds
        subprocess.run([sys.executable, "-c", code, str(tmp_path / "a.asnn"), str(tmp_path / name)], check=True)
    first = (tmp_path / "a.asnn").read_bytes()
    assert (tmp_path / "b.asnn").read_bytes() == first == (tmp_path / "c.asnn").read_bytes()
    assert [n.name for n in load_graph(tmp_path / "c.asnn").nodes] == [n.name for n in graph.nodes]


def test_a_graph_prints_in_one_line_and_describes_itself_without_weights():
    graph = build(Spec(encoding="rate", timesteps=3, in_shape=(1, 6, 6), convs=[(4, 3, 1, 1, None)], residual=False, hidden=8,
                       classes=5, zero_fraction=0.0, per_timestep=True, ann=False, seed=0))
    assert str(graph) == repr(graph) == f"Graph(snn, T=3, {len(graph.nodes)} nodes, input 1x6x6, 5 classes)"
    text = graph.describe()
    lines = text.splitlines()
    assert lines[0] == "snn graph, T=3, rate coding, 5 classes"
    assert [line.split()[0] for line in lines[2:]] == [n.name for n in graph.nodes]  # every node, in order
    for node, line in zip(graph.nodes, lines[2:]):
        assert line.split()[1] == node.kind and "x".join(map(str, graph.shapes[node.name])) in line.split()
    assert "[" not in text and "array" not in text  # no weights
