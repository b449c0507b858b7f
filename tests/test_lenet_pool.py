"""LeNet with average pooling (``asnn train --pool avg``): the models, the config and its
cache key, the command line, export, spike-exact replay, and the NIR round trip that
average pooling makes possible (NIR has no max pooling)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

import pandas as pd
import pytest
import torch

from asnn_sim.app.cli import main
from asnn_sim.graph.encoding import EncoderSpec
from asnn_sim.training.models import POOLS, build_model, pool_error
from asnn_sim.training.train import TrainConfig, TrainError

# A digits LeNet that trains in seconds and spikes in every layer (small batches, so
# BatchNorm's running statistics settle within two epochs; see tests/test_hard_reset.py).
QUICK = ["--epochs", "2", "-T", "4", "--limit", "400", "--batch-size", "16", "--quiet"]
# 360 test digits x T=4 x the neurons of lif1..lif4 (32x8x8, 48x4x4, 64x2x2, 256)
SPIKES_COMPARED = 360 * 4 * (2048 + 768 + 256 + 256)


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


# ---------------------------------------------------------------- models


def test_pool_choices_agree():
    from asnn_sim.app import choices

    assert POOLS == choices.POOLS == ("max", "avg")
    assert TrainConfig().pool == "max"


@pytest.mark.parametrize("ann", [False, True])
def test_lenet_and_its_twin_pool_as_asked(ann):
    kwargs = dict(input_shape=(1, 8, 8), n_classes=10, ann=ann, encoder=None if ann else EncoderSpec("temporal", 4))
    torch.manual_seed(0)
    max_model = build_model("lenet", **kwargs).eval()
    avg_model = build_model("lenet", pool="avg", **kwargs).eval()
    assert isinstance(max_model.pool, torch.nn.MaxPool2d) and isinstance(avg_model.pool, torch.nn.AvgPool2d)
    assert isinstance(build_model("lenet", **kwargs).pool, torch.nn.MaxPool2d)  # the default
    # Pooling has no parameters: the state dicts (and so model.pt files) have the same keys.
    assert max_model.state_dict().keys() == avg_model.state_dict().keys()
    avg_model.load_state_dict(max_model.state_dict())
    x = torch.rand(3, 1, 8, 8)
    x = x if ann else torch.from_numpy(max_model.encoder.encode(x.numpy())).float()
    with torch.no_grad():
        assert avg_model(x).shape == (3, 10)
        if ann:  # (an untrained spiking model is silent, whatever its pools)
            assert not torch.equal(avg_model(x), max_model(x))


def test_unknown_pool_lists_the_choices():
    with pytest.raises(TrainError, match=r"^unknown pool 'mean'; choose one of max, avg$"):
        TrainConfig(pool="mean")
    with pytest.raises(ValueError, match=r"unknown pool 'avgg' \(did you mean 'avg'\?\); choose one of max, avg"):
        build_model("lenet", input_shape=(1, 8, 8), n_classes=10, ann=True, pool="avgg")


@pytest.mark.parametrize("name", ["resnet-small", "resnet19", "spikformer-small"])
def test_avg_pool_is_for_lenet_only(name):
    message = pool_error(name, "avg")
    assert message.startswith(f"--pool applies to lenet only, not {name}: resnets end in a global average pool")
    assert "\n" not in message
    with pytest.raises(TrainError) as err:
        TrainConfig(model=name, pool="avg")
    assert str(err.value) == message
    with pytest.raises(ValueError, match="--pool applies to lenet only"):
        build_model(name, input_shape=(1, 8, 8), n_classes=10, ann=True, pool="avg")
    assert pool_error(name, "max") is None and TrainConfig(model=name).pool == "max"  # their own pooling


# ---------------------------------------------------------------- config and cache key


def test_config_without_pool_loads_as_max():
    d = asdict(TrainConfig(encoding="direct"))
    assert d.pop("pool") == "max"
    assert TrainConfig.from_dict(d).pool == "max"
    assert TrainConfig.from_dict(d) == TrainConfig(encoding="direct")  # so the cache reuses old runs


def test_cache_key_of_default_configs_is_unchanged():
    """``config_key`` of a max-pool config is the key main computed before ``pool`` existed:
    sha256 of the config dict without ``pool`` (nor ``residual="standard"``, ``reset="soft"``)."""
    from asnn_sim.app.pipeline import ADDED_FIELDS, config_key

    assert ADDED_FIELDS["pool"] == "max"
    for config in (
        TrainConfig(),
        TrainConfig(encoding="temporal", timesteps=6, asnn=False, seed=2),
        TrainConfig(ann=True),
        TrainConfig(reset="hard", asnn=False),
        TrainConfig(model="resnet-small", residual="sew"),
    ):
        before = {k: v for k, v in asdict(config).items() if k != "pool" and ADDED_FIELDS.get(k, object()) != v}
        expected = hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:10]
        assert config_key(config) == expected
        omitted = {k: v for k, v in asdict(config).items() if k != "pool"}
        assert config_key(TrainConfig(**omitted)) == config_key(TrainConfig(**omitted, pool="max")) == expected
    assert config_key(TrainConfig(pool="avg")) != config_key(TrainConfig())
    assert config_key(TrainConfig(ann=True, pool="avg")) != config_key(TrainConfig(ann=True))


# ---------------------------------------------------------------- command line


def test_help_says_what_avg_is_for(capsys):
    assert main(["train", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())  # undo the line wrapping
    assert ("--pool {max,avg} 2x2 pooling of lenet: max (default) or avg; NIR has no max pooling, "
            "so `asnn export --format nir` needs avg") in help_text


def test_cli_rejects_a_bad_pool(tmp_path, capsys):
    assert main(["train", "--pool", "mean", "--out", str(tmp_path / "a")]) == 1
    line = _err_line(capsys)
    assert line.startswith("asnn: error: argument --pool: invalid choice: 'mean'") and "max, avg" in line
    assert main(["train", "--model", "resnet-small", "--pool", "avg", "--quiet", "--out", str(tmp_path / "b")]) == 1
    assert "--pool applies to lenet only, not resnet-small" in _err_line(capsys)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# ---------------------------------------------------------------- export and parity


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["hybrid", "temporal"])
def test_avg_pool_lenet_trains_exports_and_replays_spike_for_spike(tmp_path, capsys, encoding):
    from asnn_sim.graph.ir import load_graph

    run, graph_file, counts = tmp_path / "run", tmp_path / "avg.asnn", tmp_path / "counts"
    assert main(["train", "--pool", "avg", "--encoding", encoding, *QUICK, "--out", str(run)]) == 0
    assert json.loads((run / "config.json").read_text())["config"]["pool"] == "avg"
    assert main(["export", str(run), "-o", str(graph_file)]) == 0
    graph = load_graph(graph_file)
    pools = [n for n in graph.nodes if "pool" in n.kind]
    assert [(n.name, n.kind) for n in pools] == [(f"pool{i}", "avgpool2d") for i in (1, 2, 3)]
    assert graph.metadata["train_config"]["pool"] == "avg"
    capsys.readouterr()

    assert main(["simulate", str(graph_file), "--out", str(counts), "--quiet", "--check-parity", str(run)]) == 0
    assert f"0 of 360 predictions differ; 0 of {SPIKES_COMPARED} spikes differ" in capsys.readouterr().out
    summary = json.loads((counts / "summary.json").read_text())
    assert summary["parity"]["identical"] is True
    # every layer spikes, so the comparison is not vacuous
    assert all(rate > 0.005 for rate in summary["firing_rate"].values()), summary["firing_rate"]
    # a mean of spikes is analog: the convolutions and fc1 after the pools read MACs, not ACs
    per_layer = pd.read_csv(counts / "counts.csv").groupby("layer")[["synaptic_acs", "synaptic_macs"]].sum()
    for name in ("conv2", "conv3", "fc1"):
        assert per_layer.loc[name, "synaptic_macs"] > 0 and per_layer.loc[name, "synaptic_acs"] == 0, name


def test_avg_pool_ann_twin_replays(tmp_path):
    from asnn_sim.training.data import load_dataset
    from asnn_sim.interop.export import export_run
    from asnn_sim.interop.parity import check_parity
    from asnn_sim.training.train import train

    train(TrainConfig(ann=True, pool="avg", epochs=1, limit=200), tmp_path / "ann", device="cpu", progress=False)
    graph = export_run(tmp_path / "ann")
    assert [n.kind for n in graph.nodes if "pool" in n.kind] == ["avgpool2d"] * 3
    digits = load_dataset("digits")
    _, report = check_parity(graph, tmp_path / "ann", digits.x_test[:200], digits.y_test[:200], precision="float64",
                             progress=False)
    assert report.prediction_mismatches == 0 and report.max_logit_difference < 1e-9


# ---------------------------------------------------------------- NIR


@pytest.mark.slow
def test_avg_pool_lenet_goes_through_nir_and_replays_the_same(tmp_path, capsys):
    """The point of --pool avg: a plain-LIF, hard-reset LeNet exports to NIR, imports back,
    and replays the digits test set with the same predictions and counts. (At seed 0 with
    these flags no float64 NIR ``r`` gives ``dt r / tau == gain`` exactly for lif4: the
    exact gain travels in the node's metadata; see the NIR docs.)
    """
    pytest.importorskip("nir")
    run, exported, nir_file, imported = tmp_path / "run", tmp_path / "run.asnn", tmp_path / "m.nir", tmp_path / "m.asnn"
    flags = ["--no-asnn", "--reset", "hard", "--pool", "avg", "--encoding", "temporal", "--seed", "0", *QUICK]
    assert main(["train", *flags, "--out", str(run)]) == 0
    assert main(["export", str(run), "-o", str(exported)]) == 0
    assert main(["export", str(run), "-o", str(nir_file), "--format", "nir"]) == 0
    assert main(["import", str(nir_file), "-o", str(imported)]) == 0
    assert "3 avgpool2d" in capsys.readouterr().out

    for graph_file, out in ((exported, "c-exported"), (imported, "c-imported")):
        assert main(["simulate", str(graph_file), "--dataset", "digits", "--out", str(tmp_path / out), "--quiet"]) == 0
    a, b = tmp_path / "c-exported", tmp_path / "c-imported"
    summary_a, summary_b = (json.loads((d / "summary.json").read_text()) for d in (a, b))
    assert summary_a["encoding"] == summary_b["encoding"] and summary_a["n_samples"] == summary_b["n_samples"] == 360
    assert summary_a["accuracy"] == summary_b["accuracy"]
    for table in ("per_sample.csv", "layers.csv", "counts.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(a / table), pd.read_csv(b / table), obj=table)
    per_sample = pd.read_csv(a / "per_sample.csv")
    assert per_sample.groupby("sample")["prediction"].first().nunique() > 1  # a real classifier
    assert summary_a["spikes_per_inference"] > 0


def test_max_pool_lenet_is_refused_by_nir_naming_the_pools(tmp_path, capsys):
    pytest.importorskip("nir")
    run, nir_file = tmp_path / "run", tmp_path / "m.nir"
    flags = ["--no-asnn", "--reset", "hard", "--encoding", "temporal", "--epochs", "1", "-T", "2", "--limit", "100", "--quiet"]
    assert main(["train", *flags, "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["export", str(run), "-o", str(nir_file), "--format", "nir"]) == 1
    line = _err_line(capsys)
    assert line.startswith("asnn: error: cannot export to NIR exactly: ")
    for i in (1, 2, 3):
        assert f"node 'pool{i}': max pooling (NIR has no MaxPool2d: train lenet with --pool avg)" in line
    assert "lif" not in line and "readout" not in line  # nothing else stands in the way
    assert not nir_file.exists()
