"""One replay request: what to replay and how, and the one function that runs it.

``asnn simulate``, :func:`asnn_sim.api.simulate` and the cached pipeline behind ``asnn
compare`` each translate their own arguments (flags, keywords, a trained run) into a
:class:`ReplayRequest` and call :func:`run_replay`. The input is resolved once, by
:func:`dataset_source`, :func:`image_source` or :func:`frame_source`; where the replay
runs (in this process, beside the PyTorch model for a parity check, or in shards on a
Dask cluster) is decided in :func:`run_replay` and nowhere else. Combinations of flags
that only one front door has (``--inputs`` with ``--layout``, ``frames=`` with
``images=``) are checked by that front door, in its own words.

This module sits in the top layer because the parity check (:mod:`asnn_sim.interop`)
and the cluster (:mod:`asnn_sim.scale`) sit above the simulator.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from asnn_sim.graph.ir import Graph
from asnn_sim.scale.cluster import ClusterSpec
from asnn_sim.sim import Conventions, SimResult
from asnn_sim.sim.shards import ReplayInput
from asnn_sim.sim.recording import RecordSpec


@dataclass(frozen=True)
class ReplaySource:
    """A resolved input.

    Attributes
    ----------
    graph : Graph
        The graph to replay (re-timed to supplied frames' T where they set it).
    stream : ReplayInput
        The samples, images for the graph's encoder or supplied frames.
    labels : numpy.ndarray or None
        One per replayed sample (None: no accuracy).
    facts : dict or None
        What ``summary.json`` records under ``dataset`` (name, split, file, layout).
    """

    graph: Graph
    stream: ReplayInput
    labels: np.ndarray | None
    facts: dict | None


def _check_limit(limit) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1):
        raise ValueError(f"limit must be a positive integer, got {limit!r}")


def load_split(dataset: str, split: str = "test", data_dir: str | os.PathLike | None = None,
               limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of one split of a dataset (the first ``limit`` of them)."""
    from asnn_sim.training.data import load_dataset

    _check_limit(limit)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    data = load_dataset(dataset, data_dir, split=split)
    images, labels = (data.x_test, data.y_test) if split == "test" else (data.x_train, data.y_train)
    return (images, labels) if limit is None else (images[:limit], labels[:limit])


def _trimmed(labels, n: int):
    return None if labels is None else np.asarray(labels)[:n]


def dataset_source(graph: Graph, dataset: str | None = None, *, split: str = "test", limit: int | None = None,
                   data_dir: str | os.PathLike | None = None, ask: str = "pass --dataset") -> ReplaySource:
    """A split of a dataset, by default the one the graph was trained on (and from its folder).

    ``ask`` ends the error of a graph that records no dataset: what the caller's user
    should give instead.
    """
    from asnn_sim.sim.replay import image_input

    _check_limit(limit)
    if split not in ("train", "test"):  # before the dataset question: the first mistake is named first
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    name = dataset or graph.metadata.get("dataset")
    if not name:
        raise ValueError(f"the graph does not record its dataset: {ask}")
    data_dir = data_dir or (graph.metadata.get("train_config") or {}).get("data_dir")
    images, labels = load_split(name, split, data_dir)
    if tuple(images.shape[1:]) != tuple(graph.input.shape):
        raise ValueError(f"{name} images are {images.shape[1:]} but the graph expects {graph.input.shape}")
    stream = image_input(graph, images, limit=limit)
    return ReplaySource(graph, stream, _trimmed(labels, stream.n), {"name": name, "split": split})


def image_source(graph: Graph, images: np.ndarray, labels: np.ndarray | None = None, *, limit: int | None = None,
                 facts: dict | None = None) -> ReplaySource:
    """Images ``(N, *input_shape)`` for the graph's own encoder."""
    from asnn_sim.sim.replay import image_input

    _check_limit(limit)
    stream = image_input(graph, images, limit=limit)
    return ReplaySource(graph, stream, _trimmed(labels, stream.n), facts)


def frame_source(graph: Graph, frames: np.ndarray, layout: str, labels: np.ndarray | None = None, *,
                 limit: int | None = None, facts: dict | None = None) -> ReplaySource:
    """Supplied frames (``(T, N, ...)`` for ``"TN"``, ``(N, T, ...)`` for ``"NT"``); the
    graph is re-timed to their T (a graph whose parameters vary in time refuses)."""
    from asnn_sim.graph.ir import retimed
    from asnn_sim.sim.replay import frame_input

    _check_limit(limit)
    if layout not in ("TN", "NT"):
        raise ValueError(f"layout must be 'TN' or 'NT'; got {layout!r}")
    graph = retimed(graph, frames.shape[0] if layout == "TN" else frames.shape[1])
    stream = frame_input(graph, frames, layout, limit=limit)
    facts = {"name": "frames", "layout": layout} if facts is None else facts
    return ReplaySource(graph, stream, _trimmed(labels, stream.n), facts)


@dataclass(frozen=True)
class ReplayRequest:
    """What to replay and how.

    Attributes
    ----------
    source : ReplaySource
    precision : {"float64", "float32"}
    batch_size : int
    conventions : Conventions
        The counting conventions (``docs/counting.md``).
    progress : bool
    parity_run : path, optional
        The training run the graph came from: replay beside its PyTorch model and compare
        every spike and prediction (one process only).
    cluster : ClusterSpec
        Replay in shards on local worker processes or a running Dask scheduler.
    graph_file : str, optional
        Recorded in ``summary.json`` when the graph came from a file.
    record : RecordSpec, optional
        Spikes (and membranes) to keep in the result's ``recording``.
    """

    source: ReplaySource
    precision: str = "float64"
    batch_size: int = 128
    conventions: Conventions = field(default_factory=Conventions)
    progress: bool = False
    parity_run: str | os.PathLike | None = None
    cluster: ClusterSpec = field(default_factory=ClusterSpec)
    graph_file: str | None = None
    record: RecordSpec | None = None

    def __post_init__(self) -> None:
        refuse_parity_on_a_cluster(self.parity_run, self.cluster)


def refuse_parity_on_a_cluster(parity_run, cluster: ClusterSpec) -> None:
    """A parity check needs the PyTorch model in the replaying process (callable early, before any work)."""
    if parity_run is not None and cluster.active:
        raise ValueError("a parity check runs the PyTorch model beside the replay in one process: "
                         "it does not combine with workers or a scheduler")


def run_replay(request: ReplayRequest) -> tuple[SimResult, Any]:
    """Run ``request`` where it asks to run.

    Returns
    -------
    result : SimResult
    report : ParityReport, ShardReport or None
        The parity check's report, the cluster's shard report, or None for a plain replay.
    """
    src = request.source
    settings = dict(precision=request.precision, conventions=request.conventions, batch_size=request.batch_size,
                    progress=request.progress, record=request.record)
    report = None
    if request.parity_run is not None:
        from asnn_sim.interop.parity import check_parity

        images = src.stream.array[: src.stream.n]
        result, report = check_parity(src.graph, os.fspath(request.parity_run), images, src.labels, **settings)
    elif request.cluster.active:
        from asnn_sim.scale.cluster import connect, replay_sharded

        with connect(request.cluster) as client:
            result, report = replay_sharded(client, src.graph, src.stream, src.labels, **settings)
    else:
        from asnn_sim.sim.replay import replay

        result = replay(src.graph, src.stream, src.labels, **settings)
    if src.facts is not None:
        result.summary["dataset"] = src.facts
    if request.graph_file is not None:
        result.summary["graph_file"] = request.graph_file
    return result, report
