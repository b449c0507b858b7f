"""Spike-for-spike parity of NIR imports against the frameworks that exported them.

For each configuration: build a small net in snnTorch or SpikingJelly, export it with the
framework's own NIR exporter, import it with ``asnn_sim.interop.nir_import``, then run the
framework's forward pass (float64) and the event-driven simulator (float64) on the same
random frames and count the spikes that differ, layer by layer. Not a timing benchmark:
it prints mismatch counts (the figures quoted in docs/nir.md and NOTES.md).

Usage::

    python benchmarks/nir_parity.py [--samples 500] [--timesteps 8]

Needs nir, nirtorch, snntorch and spikingjelly (``make setup`` installs them).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import torch  # noqa: E402

from framework_runs import louder, run_sequential  # noqa: E402

from asnn_sim.interop.nir_import import import_nir  # noqa: E402
from asnn_sim.sim import Simulator  # noqa: E402


def compare(label, net, export, sample, frames, spiking_types, reset, compare_op, run_net=None):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.nir"
        export(net, sample, path)
        graph = import_nir(path, timesteps=frames.shape[0], compare=compare_op)
    theirs, _ = run_sequential(run_net or net, frames, spiking_types, reset)
    result = Simulator(graph, "float64", batch_size=frames.shape[1]).run_batch(frames, record=True)
    names = [n.name for n in graph.nodes if n.kind in ("neuron", "cuba_neuron")]
    total = differ = fired = 0
    for name, (i, spikes) in zip(names, sorted(theirs.items(), key=lambda kv: int(kv[0]))):
        differ += int((result.spikes[name] != spikes).sum())
        total += spikes.size
        fired += int(spikes.sum())
    print(f"| {label} | {total:,} | {fired:,} | {differ} |")
    return differ


def snntorch_cases(frames_vec, frames_img):
    import nir
    import snntorch as snn
    from snntorch import utils
    from snntorch.export_nir import export_to_nir

    def export(net, sample, path):
        nir.write(path, export_to_nir(net, sample))

    def leaky(shape, beta, **kw):
        return snn.Leaky(beta=torch.full(shape, beta), threshold=torch.ones(shape), init_hidden=True, **kw)

    for delay in (True, False):
        torch.manual_seed(0)
        net = louder(torch.nn.Sequential(torch.nn.Linear(frames_vec.shape[2], 64), leaky((64,), 0.9, reset_mechanism="zero", reset_delay=delay),
                                         torch.nn.Linear(64, 10), leaky((10,), 0.8, reset_mechanism="zero", reset_delay=delay)))
        compare(f"snnTorch Linear-Leaky x2, reset zero, reset_delay={delay}", net, export, torch.zeros(frames_vec.shape[2]),
                frames_vec, snn.Leaky, utils.reset, "gt")
    torch.manual_seed(1)
    c, h, w = frames_img.shape[2:]
    layers = [torch.nn.Conv2d(c, 8, 3, padding=1), leaky((8, h, w), 0.95, reset_mechanism="zero"), torch.nn.AvgPool2d(2),
              torch.nn.Flatten(start_dim=0), torch.nn.Linear(8 * (h // 2) * (w // 2), 10), leaky((10,), 0.9, reset_mechanism="zero")]
    net = louder(torch.nn.Sequential(*layers))
    run_net = torch.nn.Sequential(*layers[:3], torch.nn.Flatten(), *layers[4:])
    compare("snnTorch Conv-Leaky-AvgPool-Linear-Leaky, reset zero", net, export, torch.zeros(c, h, w), frames_img, snn.Leaky,
            utils.reset, "gt", run_net)
    if "cuba_neuron" in __import__("asnn_sim.graph.nodes", fromlist=["KINDS"]).KINDS:
        torch.manual_seed(2)
        syn = snn.Synaptic(alpha=torch.full((32,), 0.8), beta=torch.full((32,), 0.7), threshold=torch.ones(32), init_hidden=True,
                           reset_mechanism="zero", reset_delay=False)
        net = louder(torch.nn.Sequential(torch.nn.Linear(frames_vec.shape[2], 32), syn))
        compare("snnTorch Linear-Synaptic, reset zero, reset_delay=False", net, export, torch.zeros(frames_vec.shape[2]),
                frames_vec, snn.Synaptic, utils.reset, "gt")


def spikingjelly_cases(frames_vec, frames_img):
    from spikingjelly.activation_based import functional, layer, neuron
    from spikingjelly.activation_based.nir_exchange import export_to_nir

    def export(net, sample, path):
        export_to_nir(net, sample, save_path=path)

    c, h, w = frames_img.shape[2:]
    for tau in (2.0, 3.0, 10.0):
        for decay in (True, False):
            torch.manual_seed(2)
            net = louder(torch.nn.Sequential(
                layer.Conv2d(c, 8, 3, padding=1), neuron.LIFNode(tau=tau, decay_input=decay), layer.AvgPool2d(2), layer.Flatten(),
                layer.Linear(8 * (h // 2) * (w // 2), 10), neuron.IFNode()), 3.0 * (tau / 2 if decay else 1.0))  # decay_input scales by 1/tau
            compare(f"SpikingJelly Conv-LIF(tau={tau:g}, decay_input={decay})-AvgPool-Linear-IF", net, export,
                    torch.zeros(1, c, h, w), frames_img, neuron.BaseNode, functional.reset_net, "ge")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--timesteps", type=int, default=8)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    T, n = args.timesteps, args.samples
    frames_vec = rng.random((T, n, 40)) * 1.5  # analog inputs
    frames_img = (rng.random((T, n, 2, 8, 8)) < 0.3).astype(np.float64)  # spikes
    print(f"float64, T={T}, {n} samples; spikes compared over every spiking layer\n")
    print("| model | spikes compared | spikes fired | differ |")
    print("|---|---|---|---|")
    snntorch_cases(frames_vec, frames_img)
    spikingjelly_cases(frames_vec, frames_img)


if __name__ == "__main__":
    main()
