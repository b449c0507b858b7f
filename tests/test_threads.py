"""A replay leaves torch's thread count alone (asnn_sim/threads.py says why it matters)."""

import os
import subprocess
import sys

SCRIPT = """
import torch
import asnn_sim.api as asnn
before = torch.get_num_threads()
images, labels = asnn.load_images("digits", limit=4)
net = asnn.GraphBuilder((1, 8, 8), encoding="temporal", timesteps=2, seed=0)
net.conv(4, 3).neuron().flatten().linear(10).readout()
asnn.simulate(net.build(), images, labels)
print(before, torch.get_num_threads())
"""


def test_a_replay_keeps_the_thread_count_torch_was_given():
    # One torch thread, two Numba threads: without the guard the replay would leave torch
    # on Numba's two (measured: 1 before, 2 after).
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="2")
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["1", "1"]
