"""Training with a hard reset (``asnn train --reset hard``): the neuron, the config and its
cache key, the command line, export, and spike-exact replay in the simulator."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

import numpy as np
import pytest
import torch

from asnn_sim.app.cli import main
from asnn_sim.graph.encoding import EncoderSpec
from asnn_sim.interop.export import EXPORTERS, export_run
from asnn_sim.graph.ir import Graph
from asnn_sim.training.models import build_model
from asnn_sim.training.neurons import RESETS, SpikingNeurons, neuron_step
from asnn_sim.training.train import TrainConfig, TrainError, load_run

F64 = dict(dtype=torch.float64)

# A digits LeNet that trains in about a second and spikes in every layer (small batches,
# so BatchNorm's running statistics settle within two epochs).
QUICK_HARD = ["--reset", "hard", "--epochs", "2", "-T", "4", "--limit", "400", "--batch-size", "16", "--quiet"]


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


# ---------------------------------------------------------------- the neuron


def test_hard_reset_step_on_hand_values():
    one = torch.tensor(1.0, **F64)
    # v = 0.5 * 0.8 + 1.0 * 0.9 = 1.3 > 1: a spike, and the membrane becomes 0 (soft: 0.3).
    s, m = neuron_step(torch.tensor(0.9, **F64), torch.tensor(0.8, **F64), torch.tensor(0.5, **F64), one, reset="hard")
    assert (s.item(), m.item()) == (1.0, 0.0)
    s, m = neuron_step(torch.tensor(0.9, **F64), torch.tensor(0.8, **F64), torch.tensor(0.5, **F64), one)
    assert s.item() == 1.0 and m.item() == pytest.approx(0.3, abs=1e-15)
    # Below threshold, or exactly at it (strict): no spike, the membrane is kept unchanged.
    s, m = neuron_step(torch.tensor(0.625, **F64), torch.tensor(0.25, **F64), one, one, reset="hard")
    assert (s.item(), m.item()) == (0.0, 0.875)
    s, m = neuron_step(torch.tensor(2.0, **F64), torch.tensor(0.0, **F64), one, torch.tensor(0.5, **F64), reset="hard")
    assert (s.item(), m.item()) == (0.0, 1.0)
    # Far above threshold a hard reset still lands on 0 (a soft one keeps 5 - 0.5 = 4.5).
    s, m = neuron_step(torch.tensor(5.0, **F64), torch.tensor(0.0, **F64), one, one, threshold=0.5, reset="hard")
    assert (s.item(), m.item()) == (1.0, 0.0)


def test_hard_reset_layer_matches_a_hand_loop():
    layer = SpikingNeurons(4, per_timestep=True, reset="hard").double()
    with torch.no_grad():
        layer.leak.copy_(torch.tensor([0.9, 0.8, 0.7, 0.6]))
        layer.gain.copy_(torch.tensor([1.0, 1.2, 0.9, 1.5]))
    currents = torch.tensor([[1.4, 0.3], [0.5, 0.6], [1.6, 0.2], [0.1, 0.9]], **F64)
    out = layer(currents)
    for j in range(2):
        mem, expected = 0.0, []
        for t in range(4):
            mem = layer.leak[t].item() * mem + layer.gain[t].item() * currents[t, j].item()
            s = 1.0 if mem > 1.0 else 0.0
            mem = 0.0 if s else mem
            expected.append(s)
        assert out[:, j].tolist() == expected
    assert out.sum() > 0 and out.sum() < out.numel()


def test_hard_reset_is_detached_from_the_graph():
    """After a spike the new membrane carries no gradient (d mem'/d mem = 1 - spike)."""
    leak, gain = torch.tensor(1.0, **F64), torch.tensor(1.0, **F64)
    current = torch.tensor([2.0, 0.5], requires_grad=True, **F64)
    _, mem = neuron_step(current, torch.zeros(2, **F64), leak, gain, reset="hard")
    (grad,) = torch.autograd.grad(mem.sum(), current)
    assert grad.tolist() == [0.0, 1.0]


def test_unknown_reset_is_a_value_error_listing_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown reset 'hardd' \(did you mean 'hard'\?\); choose one of soft, hard"):
        SpikingNeurons(4, reset="hardd")
    with pytest.raises(ValueError, match="unknown reset 'zero'.*soft, hard"):
        neuron_step(torch.ones(1), torch.zeros(1), torch.tensor(0.5), torch.tensor(0.5), reset="zero")
    with pytest.raises(TrainError, match="unknown reset"):
        TrainConfig(reset="zero")


def test_repr_names_the_reset_only_when_hard():
    assert "reset" not in repr(SpikingNeurons(2))
    assert "reset=hard" in repr(SpikingNeurons(2, reset="hard"))


def test_training_and_graph_resets_agree():
    from asnn_sim.app import choices
    from asnn_sim.graph.nodes.neuron import RESETS as GRAPH_RESETS

    assert RESETS == GRAPH_RESETS == choices.RESETS == ("soft", "hard")


@pytest.mark.parametrize("name", ["lenet", "resnet-small", "spikformer-small"])
@pytest.mark.parametrize("asnn", [True, False])
def test_every_model_neuron_gets_the_reset(name, asnn):
    kwargs = dict(input_shape=(1, 8, 8), n_classes=10, encoder=EncoderSpec("hybrid", 4), asnn=asnn)
    if name == "resnet-small":
        kwargs["residual"] = "sew"  # also builds the SEW shortcut neurons
    for reset in RESETS:
        model = build_model(name, reset=reset, **kwargs)
        layers = [m for m in model.modules() if isinstance(m, SpikingNeurons)]
        assert layers and {m.reset for m in layers} == {reset}
    assert {m.reset for m in build_model(name, **kwargs).modules() if isinstance(m, SpikingNeurons)} == {"soft"}
    if name == "spikformer-small":  # the attention neuron too, with its own threshold
        attn = build_model(name, reset="hard", **kwargs).blocks[0].attn_lif
        assert (attn.threshold, attn.reset) == (0.5, "hard")


# ---------------------------------------------------------------- config, cache key, resume


def test_config_without_reset_loads_as_soft(tmp_path):
    d = asdict(TrainConfig(encoding="direct"))
    del d["reset"]
    assert TrainConfig.from_dict(d).reset == "soft"
    assert TrainConfig.from_dict(d) == TrainConfig(encoding="direct")  # so the cache reuses old runs


def test_cache_key_of_soft_configs_is_unchanged():
    """``config_key`` of a soft config is the key main computed before ``reset`` existed:
    sha256 of the config dict without ``reset`` (and without ``residual="standard"`` and
    ``pool="max"``, the fields added before and after it)."""
    from asnn_sim.app.pipeline import config_key

    for config in (TrainConfig(), TrainConfig(encoding="temporal", timesteps=6, asnn=False, seed=2), TrainConfig(ann=True)):
        before = {k: v for k, v in asdict(config).items() if k not in ("reset", "residual", "pool")}
        expected = hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:10]
        assert config_key(config) == expected
        omitted = {k: v for k, v in asdict(config).items() if k != "reset"}
        assert config_key(TrainConfig(**omitted)) == config_key(TrainConfig(**omitted, reset="soft")) == expected
    assert config_key(TrainConfig(reset="hard")) != config_key(TrainConfig())


def test_old_run_without_reset_loads_exports_and_resumes(tmp_path, capsys):
    out = tmp_path / "old"
    argv = ["train", "--encoding", "direct", "-T", "2", "--limit", "120", "--quiet", "--out", str(out)]
    assert main(argv + ["--epochs", "1"]) == 0
    meta = json.loads((out / "config.json").read_text())
    assert meta["config"].pop("reset") == "soft"
    meta["config"]["epochs"] = 2  # as if interrupted after epoch 1 of 2, by a version without `reset`
    (out / "config.json").write_text(json.dumps(meta))
    (out / "summary.json").unlink()
    (out / "model.pt").unlink()

    assert main(["train", "--out", str(out), "--resume", "--reset", "hard", "--quiet"]) == 1
    assert "reset differs (stored 'soft', asked 'hard')" in _err_line(capsys)
    assert main(["train", "--out", str(out), "--resume", "--quiet"]) == 0
    assert "after 2 epochs" in capsys.readouterr().out
    config, model = load_run(out)
    assert config.reset == "soft" and model.lif1.reset == "soft"
    assert {n.reset for n in export_run(out).nodes if n.kind == "neuron"} == {"soft"}


# ---------------------------------------------------------------- command line, export, parity


def test_cli_rejects_an_unknown_reset(tmp_path, capsys):
    # argparse's message; exit code 1, as every usage error of `asnn` (app/argparsing.py)
    assert main(["train", "--reset", "bogus", "--out", str(tmp_path / "run")]) == 1
    line = _err_line(capsys)
    assert line.startswith("asnn: error: argument --reset: invalid choice: 'bogus'") and "soft, hard" in line
    assert not (tmp_path / "run").exists()


def test_help_says_what_hard_means(capsys):
    assert main(["train", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())  # undo the line wrapping
    assert "--reset {soft,hard}" in help_text and "hard resets to 0" in help_text and "--format nir" in help_text


@pytest.mark.slow
def test_hard_reset_lenet_trains_exports_and_replays_spike_for_spike(tmp_path, capsys):
    run, graph_file = tmp_path / "hard", tmp_path / "hard.asnn"
    assert main(["train", *QUICK_HARD, "--out", str(run)]) == 0
    assert json.loads((run / "config.json").read_text())["config"]["reset"] == "hard"
    assert main(["export", str(run), "-o", str(graph_file)]) == 0
    from asnn_sim.graph.ir import load_graph

    neurons = [n for n in load_graph(graph_file).nodes if n.kind == "neuron"]
    assert len(neurons) == 4 and all(n.reset == "hard" and n.v_reset == 0.0 for n in neurons)
    capsys.readouterr()

    counts = tmp_path / "counts"
    assert main(["simulate", str(graph_file), "--out", str(counts), "--quiet", "--check-parity", str(run)]) == 0
    printed = capsys.readouterr().out
    assert "0 of 360 predictions differ; 0 of 4792320 spikes differ" in printed
    summary = json.loads((counts / "summary.json").read_text())
    assert summary["parity"]["identical"] is True
    # every layer spikes, so the comparison is not vacuous
    assert all(rate > 0.005 for rate in summary["firing_rate"].values()), summary["firing_rate"]


@pytest.mark.parametrize("name", ["resnet-small", "spikformer-small"])
def test_hard_reset_resnet_and_spikformer_replay_spike_for_spike(name):
    """Untrained (calibrated to fire) hard-reset models: every neuron node exported hard,
    the Spikformer's attention neuron with its folded threshold 0.5 / 0.125 = 4."""
    from asnn_sim.training.models.calibrate import calibrate_rate
    from asnn_sim.sim import Simulator

    torch.manual_seed(0)
    T = 4
    encoder = EncoderSpec("hybrid", T)
    model = build_model(name, input_shape=(1, 8, 8), n_classes=10, encoder=encoder, reset="hard")
    frames = encoder.encode(np.random.default_rng(0).random((16, 1, 8, 8)))
    calibrate_rate(model, torch.from_numpy(frames).float(), target=0.15, iterations=4)
    model = model.double().eval()
    with torch.no_grad():
        graph = Graph(EXPORTERS[name](model, (1, 8, 8), T), "snn", T)
        out = model.forward_steps(torch.from_numpy(frames), record=True)
    neurons = [n for n in graph.nodes if n.kind == "neuron"]
    assert all(n.reset == "hard" and n.v_reset == 0.0 for n in neurons)
    if name == "spikformer-small":
        assert float(graph.node("b0_attn_lif").threshold.max()) == 4.0
    result = Simulator(graph, "float64", batch_size=16).run_batch(frames, record=True)
    assert list(out.spikes) == [n.name for n in neurons]
    for node, spikes in out.spikes.items():
        assert 0 < spikes.mean() < 1, node
        np.testing.assert_array_equal(result.spikes[node], spikes.numpy().astype(np.uint8), err_msg=node)
    np.testing.assert_allclose(result.logits, out.logits.mean(0).numpy(), rtol=1e-9, atol=1e-9)
