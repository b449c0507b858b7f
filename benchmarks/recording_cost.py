"""What recording costs a replay: ``simulate()`` plain, with spikes, and with spikes and membranes.

A three-spiking-layer network built by hand replays the 360 test digits; the three
variants run in interleaved rounds in one process (warm: one unmeasured run each first)
and the fastest round of each is reported, with its ratio to the plain replay. Run it on
a quiet machine: this VM's speed varies by 2x between minutes.

    python benchmarks/recording_cost.py [--rounds 5] [--precision float32]
"""

from __future__ import annotations

import argparse
import time

import asnn_sim.api as asnn

VARIANTS = {
    "plain": {},
    "spikes": dict(record=True),
    "spikes + membranes": dict(record=True, record_membranes=True),
}


def network():
    """The measured network: two conv layers and a hidden layer of LIF neurons (digits, hybrid, T=4)."""
    net = asnn.GraphBuilder((1, 8, 8), encoding="hybrid", timesteps=4, seed=0)
    net.conv(16, 3, padding=1).neuron(leak=0.9, threshold=0.5).maxpool(2).conv(32, 3, padding=1).neuron(threshold=0.5)
    net.maxpool(2).flatten().linear(64).neuron(threshold=0.5).linear(10).readout()
    return net.build()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--precision", choices=("float32", "float64"), default="float32")
    args = parser.parse_args()
    graph = network()
    images, labels = asnn.load_images("digits")
    runs = {name: (lambda kw=kw: asnn.simulate(graph, images, labels, precision=args.precision, **kw))
            for name, kw in VARIANTS.items()}
    for run in runs.values():
        result = run()
    seconds = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            result = run()
            seconds[name].append(time.perf_counter() - start)
    plain = min(seconds["plain"])
    print(f"{len(images)} digits, {args.precision}, fastest of {args.rounds} interleaved rounds")
    for name, values in seconds.items():
        print(f"  {name:20s} {1e3 * min(values):8.1f} ms  ({min(values) / plain:.2f}x plain)")
    print(f"  the last recording: {result.recording!r}")


if __name__ == "__main__":
    main()
