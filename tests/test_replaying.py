"""The one replay request the CLI, the API and the cached pipeline translate into."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from asnn_sim.app.replaying import ReplayRequest, dataset_source, frame_source, image_source, run_replay
from asnn_sim.graph.ir import Graph
from asnn_sim.interop.builder import GraphBuilder
from asnn_sim.scale.cluster import ClusterSpec
from asnn_sim.sim.replay import image_input, replay


def _graph(timesteps: int = 2) -> Graph:
    net = GraphBuilder((1, 8, 8), encoding="temporal", timesteps=timesteps, seed=0)
    return net.conv(4, 3, padding=1).neuron(leak=0.9).flatten().linear(10).readout().build()


def test_a_request_replays_exactly_what_the_simulator_replays():
    graph = _graph()
    rng = np.random.default_rng(0)
    images, labels = rng.random((12, 1, 8, 8)), rng.integers(0, 10, 12)
    source = image_source(graph, images, labels, limit=9, facts={"name": "mine"})
    result, report = run_replay(ReplayRequest(source, graph_file="g.asnn"))
    direct = replay(graph, image_input(graph, images, limit=9), labels[:9], progress=False)
    assert report is None
    pd.testing.assert_frame_equal(result.counts, direct.counts)
    assert result.summary["n_samples"] == 9 and len(source.labels) == 9
    assert result.summary["dataset"] == {"name": "mine"} and result.summary["graph_file"] == "g.asnn"


def test_the_dataset_comes_from_the_graph_unless_given():
    graph = _graph()
    src = dataset_source(graph, "digits", limit=5)
    assert src.stream.n == 5 and src.labels.tolist() == [7, 6, 3, 7, 7] and src.facts == {"name": "digits", "split": "test"}
    with pytest.raises(ValueError, match="the graph does not record its dataset: give it here"):
        dataset_source(graph, ask="give it here")
    recorded = Graph(graph.nodes, graph.kind, graph.timesteps, metadata={"dataset": "digits"})
    assert dataset_source(recorded, split="train", limit=3).facts == {"name": "digits", "split": "train"}
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        dataset_source(graph, "digits", split="val")


@pytest.mark.parametrize("limit", [0, -2, 1.5, True])
def test_a_bad_limit_is_refused_before_any_work(limit):
    with pytest.raises(ValueError, match="limit must be a positive integer"):
        image_source(_graph(), np.zeros((2, 1, 8, 8)), limit=limit)


def test_frames_retime_the_graph_and_record_their_layout():
    built = _graph(timesteps=2)
    graph = Graph([replace(built.input, encoder=None)] + list(built.nodes[1:]), "snn", 2)
    frames = (np.random.default_rng(1).random((5, 3, 1, 8, 8)) > 0.7).astype(np.float64)  # (T=5, N=3, ...)
    src = frame_source(graph, frames, "TN", np.arange(3))
    assert src.graph.timesteps == 5 and src.stream.n == 3 and src.facts == {"name": "frames", "layout": "TN"}
    result, _ = run_replay(ReplayRequest(src))
    assert result.summary["timesteps"] == 5 and result.summary["n_samples"] == 3
    with pytest.raises(ValueError, match="layout must be 'TN' or 'NT'"):
        frame_source(graph, frames, "NCHW")


def test_a_parity_check_is_refused_on_a_cluster():
    src = image_source(_graph(), np.zeros((2, 1, 8, 8)))
    with pytest.raises(ValueError, match="parity check runs the PyTorch model beside the replay in one process"):
        ReplayRequest(src, parity_run="runs/x", cluster=ClusterSpec(workers=1))
