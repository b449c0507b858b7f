"""The Python API: the ``asnn`` command's steps as functions, and the graph builder.

Import it as ``import asnn_sim.api as asnn`` (or ``from asnn_sim import api``)::

    run    = asnn.train("runs/hybrid", encoding="hybrid", epochs=30)   # asnn train
    graph  = asnn.export(run)                                            # asnn export
    asnn.save(graph, "hybrid.asnn"); graph = asnn.load("hybrid.asnn")
    result = asnn.simulate(graph, dataset="digits", check_parity=run)    # asnn simulate
    energy = asnn.energy(result, hw=["cmos45-int8-sram", "loihi"])       # asnn energy
    report = asnn.compare("reports/digits", encodings=["direct", "hybrid"])  # asnn compare

    graph  = asnn.import_nir("snntorch_model.nir", timesteps=25)          # asnn import
    result = asnn.simulate(graph, frames=spike_trains)                    # asnn simulate --inputs
    asnn.export_nir(graph, "model.nir")                                   # asnn export --format nir

or build a network by hand with :class:`GraphBuilder` and simulate and price that.

=====================  ==========================================================  ==============================
function               does                                                        returns
=====================  ==========================================================  ==============================
:func:`train`          trains a built-in model (LeNet, ResNets), writes a run      :class:`TrainedRun`
:func:`export`         a run's graph, BatchNorm folded                             :class:`~asnn_sim.graph.ir.Graph`
:func:`save`           writes a graph to a ``.asnn`` file                          the path
:func:`load`           reads and validates a ``.asnn`` file                        :class:`~asnn_sim.graph.ir.Graph`
:func:`load_images`    images and labels of a dataset split                        ``(images, labels)``
:func:`import_nir`     a NIR graph (snnTorch, SpikingJelly, ...) as a graph        :class:`~asnn_sim.graph.ir.Graph`
:func:`export_nir`     writes a graph as NIR, where NIR can express it exactly     the path
:func:`simulate`       event-driven replay with exact counts                       :class:`~asnn_sim.sim.SimResult`
:func:`energy`         energy per inference on hardware profiles vs the ANN        :class:`hw_models.EnergyResult`
:func:`profiles`       the shipped hardware profiles                               list of names
:func:`compare`        train, replay and price several encodings; a report         :class:`~asnn_sim.app.report.Report`
:class:`GraphBuilder`  a network by hand, layer by layer                           ``.build()`` gives a Graph
:func:`stack_frames`   per-sample frames (Tonic's ``ToFrame``) as one array        ``(T, N, ...)`` or ``(N, T, ...)``
=====================  ==========================================================  ==============================

Where it sits: this module and :mod:`asnn_sim.app` (the ``asnn`` command) are the top
layer, the two front doors over the same implementations: training
(:mod:`asnn_sim.training.train`), export (:mod:`asnn_sim.interop.export`), the graph format
(:mod:`asnn_sim.graph.ir`), the simulator (:mod:`asnn_sim.sim`), the energy model
(:mod:`hw_models`) and the report (:mod:`asnn_sim.app.report`). Nothing below imports
it (``tests/test_layering.py``). Every heavy import (torch, numba, pandas) happens inside
the function that needs it, so importing this module is cheap.

Errors are ``ValueError`` subclasses with a one-line message (:class:`GraphError` for
graphs, naming the node; ``TrainError``, ``DatasetError``, ``hw_models.EnergyError``).

Examples
--------
>>> import asnn_sim.api as asnn
>>> graph = (asnn.GraphBuilder((1, 8, 8), encoding="temporal", timesteps=4, seed=0)
...          .conv(8, 3, padding=1).neuron(leak=0.9).maxpool(2)
...          .flatten().linear(10).readout().build())
>>> graph.n_parameters()
1352
>>> "loihi" in asnn.profiles()
True
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from asnn_sim.interop.builder import GraphBuilder, fold_bn, snntorch_leaky, snntorch_synaptic, spikingjelly_cuba_lif, spikingjelly_lif
from asnn_sim.graph.frames import stack_frames
from asnn_sim.graph.ir import GraphError

if TYPE_CHECKING:  # for annotations only: imported where used, so importing this module stays cheap
    import numpy as np

    from asnn_sim.app.report import Report
    from asnn_sim.graph.ir import Graph
    from asnn_sim.sim import SimResult
    from asnn_sim.training.train import TrainConfig
    from hw_models import Counts, EnergyResult

__all__ = [
    "GraphBuilder", "GraphError", "TrainedRun", "compare", "energy", "export", "export_nir", "fold_bn", "import_nir", "load",
    "load_images", "profiles", "save", "simulate", "snntorch_leaky", "stack_frames", "snntorch_synaptic", "spikingjelly_cuba_lif",
    "spikingjelly_lif", "train",
]


@dataclass(frozen=True)
class TrainedRun:
    """A finished training run: its folder, configuration and ``summary.json``.

    It is a path-like object (``os.fspath(run)`` is the folder), so it goes wherever a
    run directory does: :func:`export`, ``simulate(check_parity=run)``.

    Attributes
    ----------
    path : pathlib.Path
        The run directory (``config.json``, ``model.pt``, ``metrics.csv``, ``summary.json``).
    config : TrainConfig
    summary : dict
        ``test_accuracy``, ``train_seconds``, ``device``, ``n_params``, ...
    """

    path: Path
    config: TrainConfig
    summary: dict

    def __fspath__(self) -> str:
        return str(self.path)


def train(out: str | os.PathLike, *, device: str = "auto", force: bool = False, resume: bool = False,
          progress: bool = False, **config) -> TrainedRun:
    """Train a built-in model and write its run directory (``asnn train``).

    Parameters
    ----------
    out : path
        The run directory.
    device : {"auto", "cpu", "cuda"}
    force : bool
        Overwrite the run files of an existing ``out``.
    resume : bool
        Continue an interrupted run from ``out/checkpoint.pt``; with ``epochs=N`` (at
        least the stored number), train a finished or interrupted run on to N epochs.
    progress : bool
        Show a progress bar and one line per epoch.
    **config
        Fields of :class:`asnn_sim.training.train.TrainConfig`: ``model`` ("lenet", "resnet-small",
        "resnet19", ...), ``dataset`` ("digits", "mnist", "cifar10", ...), ``data_dir``,
        ``encoding``, ``timesteps``, ``asnn``, ``ann``, ``epochs``, ``batch_size``,
        ``lr``, ``seed``, ``limit``, ``residual``, ``reset``, ``pool``, ... (the defaults
        are ``asnn train``'s).

    Returns
    -------
    TrainedRun

    Examples
    --------
    One epoch on 100 digits (a second or two; the accuracy of so short a run varies):

    >>> import tempfile
    >>> run = train(Path(tempfile.mkdtemp()) / "quick", encoding="temporal", epochs=1, limit=100)
    >>> sorted(p.name for p in run.path.iterdir() if not p.name.startswith("."))
    ['checkpoint.pt', 'config.json', 'metrics.csv', 'model.pt', 'summary.json']
    >>> run.summary["epochs"], 0.0 <= run.summary["test_accuracy"] <= 1.0
    (1, True)
    """
    from dataclasses import fields

    from asnn_sim.training.train import TrainConfig, TrainError
    from asnn_sim.training.train import train as _train

    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise TrainError(f"unknown training option {unknown[0]!r}; the options are {', '.join(sorted(known))}")
    extend = config.pop("epochs", None) if resume else None
    if resume and config:
        raise TrainError("resume=True continues the stored configuration; only epochs= may be given with it (to extend the run)")
    stored = None if resume else TrainConfig(**config)
    summary = _train(stored, out, device=device, resume=resume, epochs=extend, force=force, progress=progress)
    if resume:
        stored = TrainConfig.from_dict(json.loads((Path(out) / "config.json").read_text())["config"])
    return TrainedRun(Path(out), stored, summary)


def export(run: str | os.PathLike, out: str | os.PathLike | None = None) -> Graph:
    """The graph of a finished run, BatchNorm folded into the weights (``asnn export``).

    Parameters
    ----------
    run : path or TrainedRun
    out : path, optional
        Also write the graph there (a ``.asnn`` file).

    Returns
    -------
    Graph
    """
    from asnn_sim.interop.export import export_run

    graph = export_run(Path(os.fspath(run)))
    if out is not None:
        save(graph, out)
    return graph


def save(graph: Graph, path: str | os.PathLike) -> Path:
    """Write ``graph`` to a ``.asnn`` file (safetensors + JSON, no pickle), atomically.

    Returns
    -------
    pathlib.Path
    """
    from asnn_sim.graph.ir import save_graph

    save_graph(graph, path)
    return Path(path)


def load(path: str | os.PathLike) -> Graph:
    """Read and validate a ``.asnn`` file.

    Raises
    ------
    GraphError
        Naming the node and the problem (unreadable file, bad shapes, corrupted arrays, ...).
    """
    from asnn_sim.graph.ir import load_graph

    return load_graph(path)


def load_images(dataset: str = "digits", *, split: str = "test", limit: int | None = None,
                data_dir: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, C, H, W)`` in [0, 1] (float32) and int64 labels of one split.

    Parameters
    ----------
    dataset : str
        ``digits`` (bundled), ``mnist``, ``fashion-mnist``, ``cifar10``, ``cifar100``
        (read from the standard files in ``data_dir``, never downloaded).
    split : {"test", "train"}
    limit : int, optional
        Only the first ``limit`` samples.
    data_dir : path, optional

    Examples
    --------
    >>> images, labels = load_images("digits", limit=5)
    >>> images.shape, labels.tolist()
    ((5, 1, 8, 8), [7, 6, 3, 7, 7])
    """
    from asnn_sim.app.replaying import load_split

    return load_split(dataset, split, data_dir, limit)


def simulate(
    graph: Graph | str | os.PathLike,
    images: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    *,
    frames: np.ndarray | None = None,
    layout: str = "TN",
    dataset: str | None = None,
    split: str = "test",
    limit: int | None = None,
    data_dir: str | os.PathLike | None = None,
    graded: str = "mac",
    skip_zero_weights: bool = False,
    static_input: str = "per_step",
    precision: str = "float64",
    batch_size: int = 128,
    check_parity: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    force: bool = False,
    progress: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    record: bool | str | Sequence[str] | None = None,
    record_membranes: bool = False,
    record_samples: int | None = None,
    record_limit_gb: float = 2.0,
) -> SimResult:
    """Replay images through a graph in the event-driven simulator, counting every operation.

    Parameters
    ----------
    graph : Graph or path
        A graph (from :func:`export`, :func:`load` or :class:`GraphBuilder`) or a ``.asnn`` file.
    images, labels : numpy.ndarray, optional
        ``(N, C, H, W)`` in [0, 1] and ``(N,)`` class indices (labels optional: without
        them no accuracy). Give these, ``frames``, or ``dataset``.
    frames : numpy.ndarray, optional
        Supplied input frames, spikes or values (``(T, N, ...)``, or ``(N, T, ...)`` with
        ``layout="NT"``), for a graph without an input encoder (one from
        :func:`import_nir`); ``labels`` may come with them. A graph whose parameters are
        constant in time is re-timed to the frames' T.
    layout : {"TN", "NT"}
    dataset, split, limit, data_dir :
        Read the images instead (see :func:`load_images`); ``dataset`` and ``data_dir``
        default to those the graph was trained on, when it records them. With
        ``images``, ``limit`` keeps the first ``limit`` of them.
    graded, skip_zero_weights, static_input :
        Counting conventions (``docs/counting.md``): a graded event counts as one MAC
        per synapse (``"mac"``) or ``value`` ACs (``"expand"``); count only non-zero
        weights; count a direct-coded first layer every step or ``"once"``.
    precision : {"float64", "float32"}
    batch_size : int
    check_parity : path or TrainedRun, optional
        The run the graph came from: compare every spike and prediction with the PyTorch
        model (``result.summary["parity"]``).
    out : path, optional
        Also write the counts folder (``counts``, ``per_sample``, ``layers`` as Parquet and
        CSV, ``summary.json``), which :func:`energy` and ``asnn energy`` read.
    force : bool
        Let ``out`` replace an earlier replay's files.
    progress : bool
    workers, scheduler : optional
        Replay in shards on a local Dask cluster of ``workers`` processes, or on the one
        at ``scheduler`` (``"tcp://host:8786"``); the tables equal a single-process
        replay's bit for bit (``pip install 'asnn-sim[cluster]'``; docs/scale.md).
    record : True, str or list of str, optional
        Record the spike trains of every spiking node (True) or of the named ones in
        ``result.recording`` (:class:`~asnn_sim.sim.recording.Recording`: arrays ``(T, N,
        *shape)``, channel-first), and in ``out``'s ``recording.npz``. Equal, sharded or
        not, to the engine's own recording.
    record_membranes : bool
        Also record their membrane potentials before and after the reset.
    record_samples : int, optional
        Record only the first ``record_samples`` samples (the counts still cover all).
    record_limit_gb : float
        A recording that would take more memory than this is refused before any work,
        with its size and the ways to narrow it.

    Returns
    -------
    SimResult
        ``counts`` (one row per node x timestep, int64 totals), ``per_sample``,
        ``layers``, ``summary`` (accuracy, per-inference means, firing rates),
        ``firing_rates()`` (a DataFrame) and ``recording``.

    Examples
    --------
    >>> graph = (GraphBuilder((1, 8, 8), encoding="temporal", timesteps=4, seed=0)
    ...          .conv(4, 3, padding=1).neuron(leak=0.9).flatten().linear(10).readout().build())
    >>> images, labels = load_images("digits", limit=3)
    >>> result = simulate(graph, images, labels, record=True, record_membranes=True)
    >>> result.recording
    Recording(1 node(s), 3 sample(s), T=4 with membranes, 0.1 MB)
    >>> result.recording.spikes["lif1"].shape     # (T, N, C, H, W)
    (4, 3, 4, 8, 8)
    """
    from asnn_sim.app.replaying import (
        ReplayRequest,
        dataset_source,
        frame_source,
        image_source,
        refuse_parity_on_a_cluster,
        run_replay,
    )
    from asnn_sim.scale.cluster import ClusterSpec
    from asnn_sim.sim import Conventions
    from asnn_sim.sim.recording import record_spec

    if not hasattr(graph, "nodes"):
        graph = load(graph)
    conventions = Conventions(graded=graded, skip_zero_weights=skip_zero_weights, static_input=static_input)
    recording = record_spec(graph, record, membranes=record_membranes, samples=record_samples, limit_gb=record_limit_gb)
    cluster = ClusterSpec(workers, scheduler)
    refuse_parity_on_a_cluster(check_parity, cluster)
    if frames is not None and (images is not None or dataset is not None or check_parity is not None):
        raise ValueError("frames= replays supplied frames: give no images, dataset or check_parity with it")
    if images is not None and dataset is not None:
        raise ValueError("give images or dataset=, not both")

    def run():
        # The input is resolved inside: with out=, a taken folder is refused before any data is read.
        if frames is not None:
            source = frame_source(graph, frames, layout, labels, limit=limit)
        elif images is None:
            source = dataset_source(graph, dataset, split=split, limit=limit, data_dir=data_dir,
                                    ask="give images (and labels), or dataset=")
        else:
            source = image_source(graph, images, labels, limit=limit)
        request = ReplayRequest(source, precision=precision, batch_size=batch_size, conventions=conventions,
                                progress=progress, parity_run=check_parity, cluster=cluster, record=recording)
        return run_replay(request)[0]

    if out is None:
        return run()
    from asnn_sim.sim.replay import OUTPUT_FILES
    from asnn_sim.util.folders import output_folder

    # Refused before any work when out is taken; written all at once when the replay is done.
    with output_folder(out, OUTPUT_FILES, force=force, hint="pass force=True to replace its results") as stage:
        result = run()
        result.write(stage)
    return result


def import_nir(path, *, dt: float | None = None, timesteps: int | None = None, compare: str = "gt",
               encoding: str | None = None) -> Graph:
    """A NIR graph (a file, or a ``nir.NIRGraph``) as a :class:`~asnn_sim.graph.ir.Graph` (``asnn import``).

    Parameters
    ----------
    path : path or nir.NIRGraph
        Written by snnTorch's ``export_to_nir``, SpikingJelly's
        ``nir_exchange.export_to_nir``, ``nir.write``, or :func:`export_nir`.
    dt : float, optional
        Forward-Euler timestep in seconds (default: the file's if asnn wrote it, else
        1e-4, what snnTorch and SpikingJelly export for).
    timesteps : int, optional
        T (default: the file's, else 4); :func:`simulate` re-times to the frames' T.
    compare : {"gt", "ge"}
        Fire at ``v > threshold`` (NIR, snnTorch) or ``v >= threshold`` (SpikingJelly).
    encoding : str, optional
        Encode images with one of this package's encoders (image inputs only).

    Returns
    -------
    Graph
        See :mod:`asnn_sim.interop.nir_import` (and ``docs/nir.md``) for the mapping of each primitive.
    """
    from asnn_sim.interop.nir_import import import_nir as _import

    given = {k: v for k, v in (("dt", dt), ("timesteps", timesteps)) if v is not None}
    return _import(path, compare=compare, encoding=encoding, **given)


def export_nir(graph: Graph | str | os.PathLike, path: str | os.PathLike, *, dt: float = 1e-4) -> Path:
    """Write ``graph`` (a graph, a ``.asnn`` file or a run) as NIR (``asnn export --format nir``).

    Refused, with every inexpressible feature and node on one line, for what NIR cannot
    say exactly: ASNN's per-step leak and gain or readout scale, the soft reset, ``v >=
    threshold``, max pooling, the hybrid first layer (see :mod:`asnn_sim.interop.nir_export`).
    """
    from asnn_sim.interop.nir_export import write_nir

    if not hasattr(graph, "nodes"):
        graph = load(graph) if Path(graph).is_file() else export(graph)
    write_nir(graph, path, dt=dt)
    return Path(path)


def energy(counts: SimResult | Counts | str | os.PathLike, hw: str | Sequence[str] | None = None, *,
           ann_counts: SimResult | Counts | str | os.PathLike | None = None, ann_bits: str | int = "same",
           encoder: str = "profile", sensitivity: bool = False, out: str | os.PathLike | None = None) -> EnergyResult:
    """Energy per inference on hardware profiles, next to the equivalent ANN (``asnn energy``).

    Parameters
    ----------
    counts : SimResult, hw_models.Counts or path
        A replay (from :func:`simulate`) or a counts folder.
    hw : str or list of str, optional
        Profile names (see :func:`profiles`) or paths to ``.toml`` profiles; default all
        shipped profiles.
    ann_counts : SimResult, hw_models.Counts or path, optional
        A replay of the ANN twin, for the zero-skipping ANN baseline (default: the dense
        ANN derived from the graph's layers).
    ann_bits : {"same", "matched"} or int
        Bit width of the ANN's arithmetic and memory.
    encoder : {"profile", "on-chip", "off-chip"}
        Where the input encoder runs: as each profile says, on every chip, or on a host
        (its energy left out); ``asnn energy --encoder``.
    sensitivity : bool
        Also move each uncertain constant alone over its bounds (``.sensitivity``).
    out : path, optional
        Also write ``breakdown`` and ``summary`` (Parquet, CSV, JSON) there.

    Returns
    -------
    hw_models.EnergyResult
        ``summary``: one row per profile (``snn_pj``, ``ann_pj``, ``ratio`` with low/high
        bounds, break-even activity, components, the DRAM, encoder and inter-chip shares,
        cores and chips where the profile states a chip); ``breakdown``: per node, step
        and component; ``capacity``: the mapping on the chips.
    """
    from hw_models import run_energy, write_outputs
    from hw_models.run import OUTPUT_FILES

    result = run_energy(_counts(counts), hw, ann_counts=None if ann_counts is None else _counts(ann_counts), ann_bits=ann_bits,
                        encoder=encoder, sensitivity=sensitivity)
    if out is not None:
        from asnn_sim.util.folders import output_folder

        with output_folder(out, OUTPUT_FILES, force=True) as stage:  # as before: earlier results replaced
            write_outputs(result, stage)
    return result


def _counts(value) -> Counts | str | os.PathLike:
    """A replay result as validated ``hw_models.Counts``; paths and Counts pass through."""
    if not hasattr(value, "per_sample"):
        return value
    from hw_models.core_split import NeuronActivity
    from hw_models.counts import Counts, validate

    recorded = NeuronActivity.from_trains(value.recording.spikes) if getattr(value, "recording", None) is not None else None
    return validate(Counts(counts=value.counts, layers=value.layers, summary=value.summary, activity=recorded))


def profiles() -> list[str]:
    """Names of the shipped hardware profiles (``asnn profiles``); see ``docs/energy.md``."""
    from hw_models import list_profiles

    return list_profiles()


def compare(
    out: str | os.PathLike,
    *,
    encodings: Sequence[str] = ("direct", "temporal", "hybrid"),
    ann: bool = True,
    hw: str | Sequence[str] | None = None,
    cache: str | os.PathLike = ".asnn-cache",
    limit: int | None = None,
    train_limit: int | None = None,
    device: str = "auto",
    check_parity: bool = True,
    progress: bool = False,
    log=None,
    seeds: Sequence[int] | None = None,
    **config,
) -> Report:
    """Train (or reuse), replay and price one model per encoding, plus its ANN twin, for
    each seed, and write a report folder (``asnn compare``).

    Parameters
    ----------
    out : path
        The report folder (``summary.md``, ``tables/``, ``figures/``).
    encodings : list of str
    ann : bool
        Include the ANN twin.
    hw : str or list of str, optional
        Profiles; default all shipped.
    cache : path
        Trained runs and replays are cached there and reused when the configuration matches.
    limit : int, optional
        Replay only the first ``limit`` test images (``asnn compare --limit``).
    train_limit : int, optional
        Train (and measure PyTorch's accuracy) on only the first ``train_limit`` images of
        each split: quick experiments (``TrainConfig.limit``).
    device : {"auto", "cpu", "cuda"}
    check_parity : bool
        Compare every replay with its PyTorch model.
    progress : bool
    log : callable, optional
        Receives one line per step (default: silent unless ``progress``).
    seeds : list of int, optional
        Training seeds (``asnn compare --seeds``, whose default is 0, 1, 2). With two or
        more, every number is a mean with its min-max over the seeds and a verdict is
        stated only where the whole spread lies on one side of 1. Default: the single
        ``seed`` of ``config`` (0 unless given).
    **config
        :class:`asnn_sim.training.train.TrainConfig` fields shared by every model: ``model``,
        ``dataset``, ``timesteps``, ``epochs``, ``asnn``, ``seed``, ...

    Returns
    -------
    Report
        ``out``, ``headline`` (a DataFrame), ``headline_markdown``, ``tables``, ``figures``.
    """
    from dataclasses import fields

    from asnn_sim.app.pipeline import prepare_seeds
    from asnn_sim.app.report import build_report
    from asnn_sim.training.train import TrainConfig, TrainError
    from hw_models import list_profiles, load_profile
    from hw_models.run import parse_hw

    known = {f.name for f in fields(TrainConfig)} - {"encoding", "ann", "limit"}
    unknown = sorted(set(config) - known)
    if unknown:
        raise TrainError(f"unknown option {unknown[0]!r}; the training options are {', '.join(sorted(known))}")
    encodings = list(encodings)
    if not encodings or len(set(encodings)) != len(encodings):
        raise ValueError(f"encodings must name at least one encoding, each once; got {encodings}")
    names = list_profiles() if hw is None else parse_hw(hw)
    for name in names:  # a bad profile fails before any training
        load_profile(name)
    if log is None:
        log = print if progress else (lambda line: None)
    if train_limit is not None:
        config["limit"] = train_limit
    configs = [TrainConfig(encoding=e, **config) for e in encodings]
    if ann:  # the twin's config as `asnn compare` makes it (no neuron options), so the two share cached runs
        configs.append(TrainConfig(ann=True, **{k: v for k, v in config.items() if k not in ("asnn", "reset")}))
    if seeds is None:
        seeds = [config.get("seed", 0)]
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must name at least one seed, each once; got {seeds}")
    runs = prepare_seeds(configs, seeds, cache, device=device, limit=limit, check_parity=check_parity, progress=progress, log=log)
    return build_report(runs, names, out, log=log)
