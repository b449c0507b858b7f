"""Seeded fuzzing of every input a user hands us: each case ends in a one-line error or a correct result.

Four input kinds, each mutated from a valid file: ``.asnn`` graphs (bytes flipped,
truncated, header JSON edited), supplied frames (``.npy``/``.npz`` bytes and values),
NIR graphs (structure and fields perturbed in memory, and truncated files), and hardware
TOML profiles (keys dropped or invented, values of the wrong type or magnitude, text
garbled). A case passes when the reader raises one of the documented error types
(``ValueError`` and its subclasses ``GraphError`` / ``EnergyError``, or ``OSError``) with a
message of one line, or returns what a correct reader must: for ``.asnn`` files, a graph
equal to the original. Anything else (a traceback type, a multi-line message, a silently
different graph) fails with the case number, so it replays with ``-k``.

``--fuzz-cases N`` runs N cases per kind (default 60, well under a minute in all).
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import numpy as np
import pytest

import asnn_sim.api as asnn
from asnn_sim.graph.ir import Graph, load_graph, save_graph

ACCEPTED = (ValueError, OSError)  # GraphError and EnergyError are ValueErrors


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", range(metafunc.config.getoption("fuzz_cases")))


def _one_line(error: BaseException) -> None:
    message = str(error)
    assert message and "\n" not in message, f"{type(error).__name__} not on one line: {message!r}"


def _expect_clean(call):
    """Run ``call``; a documented error on one line or its result. Anything else propagates (fails)."""
    try:
        return call()
    except ACCEPTED as e:
        _one_line(e)
        return None


# ------------------------------------------------------------------ .asnn graphs


@pytest.fixture(scope="module")
def graph_bytes(tmp_path_factory) -> tuple[Graph, bytes]:
    net = asnn.GraphBuilder((1, 6, 6), encoding="hybrid", timesteps=3, seed=0)
    graph = net.conv(3, 3).neuron().maxpool(2).flatten().linear(4).readout().build()
    path = tmp_path_factory.mktemp("fuzz") / "g.asnn"
    save_graph(graph, path)
    return graph, path.read_bytes()


def _same_graph(a: Graph, b: Graph) -> bool:
    if [n.name for n in a.nodes] != [n.name for n in b.nodes] or a.timesteps != b.timesteps:
        return False
    for x, y in zip(a.nodes, b.nodes):
        if x.attrs() != y.attrs() or x.inputs != y.inputs or set(x.arrays()) != set(y.arrays()):
            return False
        if any(not np.array_equal(x.arrays()[k], y.arrays()[k]) for k in x.arrays()):
            return False
    return True


def _mutate_asnn(data: bytes, rng: random.Random) -> bytes:
    header_len = int.from_bytes(data[:8], "little")
    kind = rng.choice(["flip", "flip-header", "truncate", "json", "length"])
    buf = bytearray(data)
    if kind == "flip":
        for _ in range(rng.randint(1, 4)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    elif kind == "flip-header":
        buf[8 + rng.randrange(header_len)] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        buf = buf[: rng.randrange(len(buf))]
    elif kind == "length":
        buf[:8] = rng.choice([0, 1, header_len + 1, 2**40, len(buf)]).to_bytes(8, "little")
    else:  # edit the graph description, fixing nothing up
        header = json.loads(bytes(buf[8 : 8 + header_len]))
        doc = json.loads(header["__metadata__"]["graph"])
        node = rng.choice(doc["nodes"])
        edit = rng.choice(["drop-node", "drop-array", "rename", "attr", "inputs", "kind", "timesteps", "nodes-dict"])
        if edit == "drop-node":
            doc["nodes"].remove(node)
        elif edit == "drop-array" and node["arrays"]:
            del node["arrays"][rng.choice(list(node["arrays"]))]
        elif edit == "rename":
            node["name"] = rng.choice(["", "x.y", doc["nodes"][0]["name"], "new"])
        elif edit == "attr":
            node["attrs"][rng.choice(list(node["attrs"]) or ["bogus"])] = rng.choice([None, -1, "x", [1, 2], 1e308, True])
        elif edit == "inputs":
            node["inputs"] = rng.choice([[], ["nowhere"], [node["name"]], "input"])
        elif edit == "kind":
            node["kind"] = rng.choice(["conv3d", "", None, "neuron"])
        elif edit == "timesteps":
            doc["timesteps"] = rng.choice([0, -3, 10**9, "4", None, 2.5])
        else:
            doc["nodes"] = {n["name"]: n for n in doc["nodes"]}
        header["__metadata__"]["graph"] = json.dumps(doc)
        text = json.dumps(header).encode()
        text += b" " * (-len(text) % 8)
        buf = bytearray(len(text).to_bytes(8, "little") + text + bytes(buf[8 + header_len :]))
    return bytes(buf)


@pytest.mark.slow
def test_fuzzed_asnn_files(case, graph_bytes, tmp_path):
    graph, data = graph_bytes
    rng = random.Random(1000 + case)
    path = tmp_path / "m.asnn"
    path.write_bytes(_mutate_asnn(data, rng))
    loaded = _expect_clean(lambda: load_graph(path))
    if loaded is not None:  # accepted: then it must be the graph that was saved
        assert _same_graph(loaded, graph), f"case {case}: a changed file was read as a different graph"


# ------------------------------------------------------------------ supplied frames


@pytest.fixture(scope="module")
def frames_graph() -> Graph:
    from dataclasses import replace

    net = asnn.GraphBuilder((1, 4, 4), encoding="direct", timesteps=3, seed=0)
    built = net.conv(2, 3).neuron().flatten().linear(3).readout().build()
    return Graph([replace(built.input, encoder=None)] + list(built.nodes[1:]), "snn", 3)


def _mutated_frames(rng: random.Random, tmp_path: Path) -> Path:
    frames = (np.random.default_rng(rng.randrange(1 << 30)).random((3, 4, 1, 4, 4)) < 0.3).astype(np.float32)
    labels = np.arange(4) % 3
    kind = rng.choice(["value", "shape", "dtype", "labels", "bytes", "truncate", "container"])
    if kind == "value":
        frames[tuple(rng.randrange(s) for s in frames.shape)] = rng.choice([np.nan, np.inf, -np.inf, 1e38, -5.0, 0.5])
    elif kind == "shape":
        frames = frames.reshape(rng.choice([(12, 1, 4, 4), (3, 4, 16), (3, 4, 1, 2, 8), (3, 4, 1, 4, 4, 1)]))
    elif kind == "dtype":
        frames = frames.astype(rng.choice([np.float16, np.int8, np.bool_, np.complex64, np.uint64]))
    elif kind == "labels":
        labels = rng.choice([np.array([0, 1, 2, 9]), np.array([-1, 0, 1, 2]), np.array([0, 1]), labels.astype(float),
                             np.array(["a", "b", "c", "d"])])
    path = tmp_path / rng.choice(["f.npz", "f.npy"])
    if path.suffix == ".npz":
        np.savez(path, frames=frames, labels=labels)
    else:
        np.save(path, frames)
    if kind in ("bytes", "truncate", "container"):
        data = bytearray(path.read_bytes())
        if kind == "bytes":
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == "truncate":
            data = data[: rng.randrange(len(data))]
        else:
            data = bytearray(rng.choice([b"", b"PK\x03\x04", b"\x93NUMPY", b"frames,labels\n1,2\n"]))
        path.write_bytes(bytes(data))
    return path


def test_fuzzed_frames(case, frames_graph, tmp_path):
    from asnn_sim.graph.frames import load_frames

    rng = random.Random(2000 + case)
    path = _mutated_frames(rng, tmp_path)

    def load_and_replay():
        frames, labels = load_frames(path, "TN")
        return asnn.simulate(frames_graph, labels=labels, frames=np.asarray(frames), layout="TN", batch_size=2)

    result = _expect_clean(load_and_replay)
    if result is not None:  # accepted: every count is a finite, non-negative integer
        counts = result.counts.select_dtypes("number")
        assert np.isfinite(counts.to_numpy(float)).all() and (counts.to_numpy(float) >= 0).all()


# ------------------------------------------------------------------ NIR graphs


def _nir_graph(rng: random.Random):
    nir = pytest.importorskip("nir")
    width = 3

    def lif():
        return nir.LIF(tau=np.full(width, 2e-4), r=np.ones(width), v_leak=np.zeros(width),
                       v_threshold=np.ones(width), v_reset=np.zeros(width))

    nodes = {"input": nir.Input(input_type=np.array([width])), "fc": nir.Affine(weight=np.eye(width), bias=np.zeros(width)),
             "lif": lif(), "fc2": nir.Linear(weight=np.eye(width)), "lif2": lif(),
             "output": nir.Output(output_type=np.array([width]))}
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
    metadata: dict = {}
    kind = rng.choice(["edge-drop", "edge-add", "edge-bad", "param", "shape", "node", "metadata", "nested-name"])
    if kind == "edge-drop":
        edges.pop(rng.randrange(len(edges)))
    elif kind == "edge-add":
        edges.append((rng.choice(list(nodes)), rng.choice(list(nodes))))
    elif kind == "edge-bad":
        edges.append(rng.choice([("ghost", "fc"), ("fc", "ghost"), ("input.x", "fc")]))
    elif kind == "param":
        name = rng.choice(["lif", "lif2"])
        field = rng.choice(["tau", "r", "v_threshold", "v_leak", "v_reset"])
        value = rng.choice([np.full(width, np.nan), np.full(width, -1.0), np.zeros(width), np.full(width, np.inf),
                            np.ones(width + 1), np.array([1e-4, 2e-4, 3e-4])])
        setattr(nodes[name], field, value)
    elif kind == "shape":
        nodes["fc"] = nir.Affine(weight=np.ones(rng.choice([(width, width + 1), (width + 2, width), (1, 1)])),
                                 bias=np.zeros(width))
    elif kind == "node":
        nodes["fc2"] = rng.choice([nir.Delay(delay=np.ones(width)), nir.Flatten(input_type={"input": np.array([width])}),
                                   nir.Scale(scale=np.full(width, np.nan))])
    elif kind == "metadata":
        metadata["asnn"] = rng.choice([json.dumps({"timesteps": rng.choice([0, -1, "4", 10**13, 2.5, None])}),
                                       json.dumps({"dt": rng.choice([0, -1e-4, "x", float("nan")])}),
                                       json.dumps({"encoder": rng.choice(["hybrid", 3, {"name": "nope"}])}),
                                       json.dumps({"class_names": rng.choice([3, ["a"], [1, 2, 3]])}),
                                       "{not json", json.dumps([1, 2])])
    else:
        nodes["fc.x"] = lif()
        edges.append(("fc", "fc.x"))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata, type_check=False)


def test_fuzzed_nir_graphs(case):
    from asnn_sim.interop.nir_import import import_nir

    graph = _nir_graph(random.Random(3000 + case))
    imported = _expect_clean(lambda: import_nir(graph))
    if imported is not None:  # accepted: a valid graph that replays
        frames = (np.random.default_rng(case).random((imported.timesteps, 2, 3)) < 0.5).astype(np.float64)
        _expect_clean(lambda: asnn.simulate(imported, frames=frames, layout="TN", batch_size=2))


def test_truncated_nir_files(case, tmp_path):
    nir = pytest.importorskip("nir")
    from asnn_sim.interop.nir_import import import_nir

    rng = random.Random(4000 + case)
    path = tmp_path / "m.nir"
    nir.write(path, _valid_nir())
    data = path.read_bytes()
    path.write_bytes(data[: rng.randrange(len(data))] if case % 2 else bytes(rng.randrange(256) for _ in range(64)))
    _expect_clean(lambda: import_nir(path))


def _valid_nir():
    nir = pytest.importorskip("nir")
    lif = nir.LIF(tau=np.full(3, 2e-4), r=np.ones(3), v_leak=np.zeros(3), v_threshold=np.ones(3), v_reset=np.zeros(3))
    return nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([3])), "fc": nir.Linear(weight=np.eye(3)),
                               "lif": lif, "output": nir.Output(output_type=np.array([3]))},
                        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")], type_check=False)


# ------------------------------------------------------------------ hardware TOML


def _mutated_profile(rng: random.Random) -> str:
    from importlib import resources

    import tomli_w

    from hw_models.profile import tomllib

    name = rng.choice(["cmos45-int8-sram", "loihi", "truenorth", "spinnaker2"])
    data = tomllib.loads(resources.files("hw_models").joinpath("profiles", f"{name}.toml").read_text())
    data = copy.deepcopy(data)
    kind = rng.choice(["drop", "invent", "value", "type", "text"])
    table_name = rng.choice(["constants", "assumptions", "model", None])
    table = data.get(table_name, data) if table_name else data
    if not table:
        table = data
    key = rng.choice(list(table))
    if kind == "drop":
        del table[key]
    elif kind == "invent":
        table[key + rng.choice(["_", "s", "x"])] = copy.deepcopy(table[key])
    elif kind == "value":
        target = table[key] if isinstance(table[key], dict) and "value" in table[key] else table
        field = "value" if target is not table else key
        target[field] = rng.choice([-1.0, 0.0, 1e308, float("nan"), float("inf"), 1e-30, 2**63 - 1])
    elif kind == "type":
        table[key] = rng.choice(["text", [1, 2], {"value": "x"}, True, 3])
    text = tomli_w.dumps(data)
    if kind == "text":
        chars = list(text)
        for _ in range(rng.randint(1, 6)):
            chars[rng.randrange(len(chars))] = rng.choice(["[", "]", "=", '"', "\n", "x", "\x00"])
        text = "".join(chars)
    return text


def test_fuzzed_hardware_profiles(case, tmp_path):
    from hw_models import load_profile

    path = tmp_path / "p.toml"
    path.write_text(_mutated_profile(random.Random(5000 + case)))
    _expect_clean(lambda: load_profile(path))
