"""The Python API (``asnn_sim.api``): cheap to import, and the same results as the modules it wraps."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import asnn_sim
import asnn_sim.api as asnn
from asnn_sim.graph.ir import Graph, GraphError
from asnn_sim.training.train import TrainError


def test_importing_the_api_loads_nothing_heavy():
    code = (
        "import sys, asnn_sim, asnn_sim.api\n"
        "assert asnn_sim.api.GraphBuilder is asnn_sim.GraphBuilder\n"
        "print(sorted(m for m in ('torch', 'numba', 'pandas', 'matplotlib', 'pyarrow', 'sklearn', 'hw_models') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_package_offers_the_api_lazily():
    assert asnn_sim.api is asnn
    assert {"api", "GraphBuilder"} <= set(dir(asnn_sim))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        asnn_sim.nope  # noqa: B018
    assert set(asnn.__all__) <= set(dir(asnn))


def _graph() -> Graph:
    return (asnn.GraphBuilder((1, 8, 8), encoding="temporal", timesteps=3, seed=0)
            .conv(6, 3, padding=1).neuron(leak=0.9).maxpool(2).flatten().linear(10).readout().build())


@pytest.mark.slow
def test_simulate_and_energy_of_a_built_network(tmp_path):
    images, labels = asnn.load_images("digits", limit=30)
    result = asnn.simulate(_graph(), images, labels, out=tmp_path / "counts")
    assert result.summary["n_samples"] == 30 and result.summary["accuracy"] is not None
    assert result.summary["per_inference"]["synaptic_acs"] > 0
    assert (tmp_path / "counts" / "summary.json").is_file()
    with pytest.raises(ValueError, match="already exists; pass force=True"):
        asnn.simulate(_graph(), images, labels, out=tmp_path / "counts")

    hw = ["cmos45-int8-sram", "loihi"]
    in_memory = asnn.energy(result, hw=hw, out=tmp_path / "energy")
    from_files = asnn.energy(tmp_path / "counts", hw=hw)
    assert list(in_memory.summary["profile"]) == hw
    np.testing.assert_allclose(in_memory.summary["snn_pj"], from_files.summary["snn_pj"], rtol=1e-12)
    assert (in_memory.summary["snn_pj"] > 0).all() and (in_memory.summary["ann_pj"] > 0).all()
    assert (tmp_path / "energy" / "summary.json").is_file()


def test_simulate_options():
    graph = _graph()
    images, labels = asnn.load_images("digits", limit=12)
    a = asnn.simulate(graph, images, labels, limit=5)
    assert a.summary["n_samples"] == 5
    once = asnn.simulate(graph, images[:5], skip_zero_weights=True, graded="expand", static_input="once")
    assert once.summary["conventions"] == {"graded": "expand", "skip_zero_weights": True, "static_input": "once"}
    assert once.summary["accuracy"] is None  # no labels
    with pytest.raises(ValueError, match="give images .and labels., or dataset="):
        asnn.simulate(graph)
    with pytest.raises(ValueError, match="graded must be one of mac, expand"):
        asnn.simulate(graph, images, graded="sum")
    with pytest.raises(ValueError, match="images must be"):
        asnn.simulate(graph, np.zeros((2, 3, 8, 8)))
    with pytest.raises(ValueError, match="limit must be a positive integer"):
        asnn.load_images("digits", limit=0)


@pytest.mark.slow
def test_train_export_save_load_simulate_with_parity(tmp_path):
    run = asnn.train(tmp_path / "run", encoding="hybrid", timesteps=3, epochs=1, limit=96, batch_size=32, device="cpu")
    assert run.config.encoding == "hybrid" and 0 <= run.summary["test_accuracy"] <= 1
    assert json.loads((tmp_path / "run" / "summary.json").read_text()) == run.summary
    graph = asnn.export(run, tmp_path / "model.asnn")
    assert graph.metadata["dataset"] == "digits" and graph.node("conv1").n_sets == 2
    loaded = asnn.load(asnn.save(graph, tmp_path / "again.asnn"))
    assert [n.name for n in loaded.nodes] == [n.name for n in graph.nodes]
    result = asnn.simulate(tmp_path / "model.asnn", limit=20, check_parity=run)  # the dataset the graph records
    assert result.summary["parity"]["identical"] and result.summary["dataset"] == {"name": "digits", "split": "test"}
    with pytest.raises(TrainError, match="unknown training option 'epoch'; the options are"):
        asnn.train(tmp_path / "bad", epoch=1)
    with pytest.raises(ValueError, match="already exists"):
        asnn.train(tmp_path / "run", epochs=1)
    with pytest.raises(TrainError, match="resume=True continues the stored configuration; only epochs= may be given"):
        asnn.train(tmp_path / "run", resume=True, lr=0.1)
    longer = asnn.train(tmp_path / "run", resume=True, epochs=2)  # a finished run, trained on to 2 epochs
    assert longer.config.epochs == 2 and longer.summary["epochs"] == 2
    assert len((tmp_path / "run" / "metrics.csv").read_text().strip().splitlines()) == 1 + 2


def test_load_names_the_problem(tmp_path):
    (tmp_path / "bad.asnn").write_bytes(b"not a graph")
    with pytest.raises(GraphError, match="bad.asnn is not an .asnn graph file"):
        asnn.load(tmp_path / "bad.asnn")


@pytest.mark.slow
def test_compare_writes_a_report(tmp_path):
    report = asnn.compare(tmp_path / "report", encodings=["temporal"], hw=["cmos45-int8-sram"], cache=tmp_path / "cache",
                          limit=20, train_limit=100, epochs=1, timesteps=2, device="cpu")
    assert (tmp_path / "report" / "summary.md").is_file()
    assert list(report.headline["model"]) == ["temporal", "ANN dense", "ANN zero-skip"]
    # the encoder next to the network: temporal coding compares each of the 64 pixels at both steps
    enc = report.tables["encoder"].iloc[0]
    assert enc["encoder_ops"] == 64 * 2 and enc["encoder_on_chip"] and 0 < enc["encoder_pj"] < enc["network_pj"]
    assert "## The encoder next to the network" in (tmp_path / "report" / "summary.md").read_text()
    with pytest.raises(TrainError, match="unknown option 'epoch'"):
        asnn.compare(tmp_path / "r2", epoch=1)
    with pytest.raises(ValueError, match="unknown profile|no profile|not found"):
        asnn.compare(tmp_path / "r3", hw=["no-such-chip"], cache=tmp_path / "cache")
