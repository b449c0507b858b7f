"""Train -> export -> simulate for several encodings (and seeds), reusing earlier results from a cache.

Each model lives in ``CACHE/<model>-<dataset>-<label>-T<T>-<hash>/`` where the hash is
over its full :class:`~asnn_sim.training.train.TrainConfig` (the seed included), so a cached run
is reused exactly when the configuration matches. Inside: the run files, ``model.asnn``
and a ``counts-*`` folder per replay setting. An interrupted run resumes from its
checkpoint. :func:`prepare_seeds` repeats :func:`prepare_models` for several seeds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # imported where used, so that importing this module stays cheap (`asnn --help`)
    from asnn_sim.sim.engine import Conventions
    from asnn_sim.training.train import TrainConfig

DEFAULT_CACHE = Path(".asnn-cache")
#: Seeds that ``asnn compare`` and ``asnn demo`` train by default.
DEFAULT_SEEDS = (0, 1, 2)


def parse_seeds(text: str) -> list[int]:
    """Seeds from a command-line list: ``"0,1,2"``, a range ``"0-4"``, or one seed ``"7"``.

    Items are comma-separated; each is a non-negative integer or an inclusive range
    ``a-b``. Order is kept; a seed given twice is an error.

    Examples
    --------
    >>> parse_seeds("0,1,2")
    [0, 1, 2]
    >>> parse_seeds("0-2,10")
    [0, 1, 2, 10]
    """
    seeds: list[int] = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            continue
        lo, sep, hi = item.partition("-")
        try:
            first, last = (int(lo), int(hi)) if sep else (int(item), int(item))
        except ValueError:
            raise ValueError(f"--seeds: expected integers or ranges like 0,1,2 or 0-4, got {item!r}") from None
        if first < 0 or last < first:
            raise ValueError(f"--seeds: {item!r} is not a valid seed or range (seeds are >= 0, ranges a-b with a <= b)")
        seeds.extend(range(first, last + 1))
    if not seeds:
        raise ValueError("--seeds: give at least one seed")
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise ValueError(f"--seeds: seed {repeated[0]} is listed twice")
    return seeds


@dataclass
class ModelArtifacts:
    """One trained and replayed model.

    Attributes
    ----------
    label : str
        Encoding name, or ``"ANN"`` for the twin.
    config : TrainConfig
    run_dir, graph_path, counts_dir : Path
    train_summary, sim_summary : dict
        ``summary.json`` of the run and of the replay.
    """

    label: str
    config: TrainConfig
    run_dir: Path
    graph_path: Path
    counts_dir: Path
    train_summary: dict
    sim_summary: dict

    @property
    def is_ann(self) -> bool:
        return self.config.ann


#: TrainConfig fields added after the cache format was fixed, with the default that
#: :func:`config_key` leaves out (a config at every such default hashes as it always did).
ADDED_FIELDS: dict[str, object] = {"residual": "standard", "reset": "soft", "pool": "max"}


def config_key(config: TrainConfig) -> str:
    """Short stable hash of a configuration.

    Fields added after the cache format was fixed are left out while at their default
    (:data:`ADDED_FIELDS`: ``residual="standard"``, ``reset="soft"``, ``pool="max"``), so
    runs cached before they existed keep their key.
    """
    d = asdict(config)
    for name, default in ADDED_FIELDS.items():
        if d.get(name) == default:
            del d[name]
    text = json.dumps(d, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def run_dir_for(config: TrainConfig, cache: str | Path) -> Path:
    label = "ann" if config.ann else config.encoding
    return Path(cache) / f"{config.model}-{config.dataset}-{label}-T{config.timesteps}-{config_key(config)}"


def train_cached(config: TrainConfig, cache: str | Path, *, device: str = "auto", progress: bool = True, log: Callable[[str], None] = print) -> Path:
    """Train ``config`` unless an identical finished run is cached; returns the run directory."""
    from asnn_sim.training.train import TrainConfig, train

    run = run_dir_for(config, cache)
    if (run / "summary.json").is_file() and (run / "model.pt").is_file():
        stored = TrainConfig.from_dict(json.loads((run / "config.json").read_text())["config"])
        if stored == config:
            log(f"  reusing trained run {run}")
            return run
    resume = (run / "checkpoint.pt").is_file() and (run / "config.json").is_file()
    log(f"  {'resuming' if resume else 'training'} {run}")
    run.parent.mkdir(parents=True, exist_ok=True)
    train(config, run, device=device, resume=resume, force=not resume, progress=progress)
    return run


def export_cached(run: Path, log: Callable[[str], None] = print) -> Path:
    """``run/model.asnn``, re-exported when missing or older than the weights."""
    from asnn_sim.interop.export import export_run
    from asnn_sim.graph.ir import save_graph

    path = run / "model.asnn"
    if not path.is_file() or path.stat().st_mtime < (run / "model.pt").stat().st_mtime:
        save_graph(export_run(run), path)
        log(f"  exported {path}")
    return path


def replay_dir_for(run: Path, *, split: str = "test", limit: int | None = None, precision: str = "float64",
                   conventions: Conventions | None = None) -> Path:
    """The folder of ``run`` that holds (or will hold) the replay made with these settings.

    One name per setting, so a replay is reused only by a request that would have made
    the same one; :func:`simulate_cached` writes it, readers such as the Fashion-MNIST
    study find it here.
    """
    from asnn_sim.sim.engine import Conventions

    tag = f"counts-{split}-{precision}" + (f"-n{limit}" if limit else "")
    if conventions is not None and conventions != Conventions():
        tag += f"-{conventions.graded}-{conventions.static_input}" + ("-skip0" if conventions.skip_zero_weights else "")
    return Path(run) / tag


def simulate_cached(
    graph_path: Path,
    run: Path,
    *,
    split: str = "test",
    limit: int | None = None,
    precision: str = "float64",
    conventions: Conventions | None = None,
    check_parity: bool = True,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Path:
    """Replay the dataset the run was trained on; reuse a replay made with the same settings."""
    from asnn_sim.app.replaying import ReplayRequest, dataset_source, run_replay
    from asnn_sim.graph.ir import load_graph
    from asnn_sim.sim.engine import Conventions
    from asnn_sim.training.train import TrainConfig

    conventions = conventions or Conventions()
    out = replay_dir_for(run, split=split, limit=limit, precision=precision, conventions=conventions)
    summary = out / "summary.json"
    if summary.is_file() and summary.stat().st_mtime >= graph_path.stat().st_mtime and _current_schema(summary):
        log(f"  reusing replay {out}")
        return out
    graph = load_graph(graph_path)
    config = TrainConfig.from_dict(graph.metadata["train_config"])
    source = dataset_source(graph, config.dataset, split=split, limit=limit or None, data_dir=config.data_dir)
    request = ReplayRequest(source, precision=precision, conventions=conventions, progress=progress,
                            parity_run=run if check_parity else None, graph_file=str(graph_path))
    result, report = run_replay(request)
    if report is not None:
        log(f"  {report.describe()}")
    result.save(out)
    return out


def _current_schema(summary: Path) -> bool:
    """Whether a cached replay was written in this version's counts schema (an older one is
    replayed again: e.g. schema 2 had no encoder rows)."""
    import json

    from asnn_sim.graph.counts_schema import SCHEMA_VERSION

    try:
        return json.loads(summary.read_text()).get("schema_version") == SCHEMA_VERSION
    except (OSError, ValueError):
        return False


def prepare_models(
    configs: list[TrainConfig],
    cache: str | Path = DEFAULT_CACHE,
    *,
    labels: list[str] | None = None,
    device: str = "auto",
    limit: int | None = None,
    precision: str = "float64",
    conventions: Conventions | None = None,
    check_parity: bool = True,
    progress: bool = True,
    log: Callable[[str], None] = print,
    client=None,
) -> list[ModelArtifacts]:
    """Train (or reuse), export and replay every configuration, in order.

    Parameters
    ----------
    configs : list of TrainConfig
    cache : path
        Folder of cached runs.
    labels : list of str, optional
        A name per model for tables and figures (default: the encoding, or ``"ANN"``);
        give your own when two models share an encoding (e.g. a sweep over T).
    device, limit, precision, conventions, check_parity, progress, log :
        Training device; replay only the first ``limit`` test samples; simulator
        arithmetic and counting conventions; compare with PyTorch; progress output.
    client : distributed.Client, optional
        Run each configuration as one job on this Dask cluster (:func:`asnn_sim.scale.cluster.map_jobs`);
        the results come back in the order of ``configs``.

    Returns
    -------
    list of ModelArtifacts
    """
    if labels is None:
        labels = ["ANN" if c.ann else c.encoding for c in configs]
    if len(labels) != len(configs):
        raise ValueError(f"{len(labels)} labels for {len(configs)} configurations")
    if len(set(labels)) != len(labels):
        raise ValueError(f"labels must be unique, got {labels}; pass labels= to tell models apart")
    settings = dict(device=device, limit=limit, precision=precision, conventions=conventions, check_parity=check_parity)
    if client is not None:
        from asnn_sim.scale.cluster import map_jobs

        # Each model's train -> export -> replay is one job; the cache keys are the same, so
        # what a worker finds cached it reuses, and what it makes the next run finds.
        jobs = [(config, label, cache, settings) for config, label in zip(configs, labels)]
        done = map_jobs(client, _prepare_model_logged, jobs, names=labels, log=log, lines_of=lambda r: r[1])
        return [artifacts for artifacts, _ in done]
    artifacts = []
    for i, (config, label) in enumerate(zip(configs, labels), start=1):
        log(f"[{i}/{len(configs)}] {label}")
        artifacts.append(prepare_model(config, label, cache, settings, progress=progress, log=log))
    return artifacts


def prepare_model(config: TrainConfig, label: str, cache: str | Path, settings: dict, *, progress: bool = False,
                  log: Callable[[str], None] | None = None) -> ModelArtifacts:
    """Train (or reuse), export and replay one configuration; ``settings`` as :func:`prepare_models`'s."""
    log = log or (lambda _: None)  # on a Dask worker nobody reads the lines
    device = settings.get("device", "auto")
    replay = {k: settings[k] for k in ("limit", "precision", "conventions", "check_parity") if k in settings}
    run = train_cached(config, cache, device=device, progress=progress, log=log)
    graph = export_cached(run, log=log)
    counts = simulate_cached(graph, run, progress=progress, log=log, **replay)
    return ModelArtifacts(
        label=label,
        config=config,
        run_dir=run,
        graph_path=graph,
        counts_dir=counts,
        train_summary=json.loads((run / "summary.json").read_text()),
        sim_summary=json.loads((counts / "summary.json").read_text()),
    )


def _prepare_model_logged(config, label, cache, settings) -> tuple[ModelArtifacts, list[str]]:
    """:func:`prepare_model` on a Dask worker: its log lines come back with the result."""
    lines: list[str] = []
    return prepare_model(config, label, cache, settings, log=lines.append), lines


def prepare_seeds(
    configs: list[TrainConfig],
    seeds: list[int],
    cache: str | Path = DEFAULT_CACHE,
    *,
    log: Callable[[str], None] = print,
    **kwargs,
) -> dict[int, list[ModelArtifacts]]:
    """:func:`prepare_models` for every seed: the same configurations with ``seed`` replaced.

    Returns ``{seed: [ModelArtifacts, ...]}`` in the order of ``seeds`` (each list in the
    order of ``configs``). Each seed's runs are cached separately (the seed is part of the
    cache key), so adding a seed trains only the new one.
    """
    from dataclasses import replace

    client = kwargs.get("client")
    if client is not None and len(seeds) > 1:
        # Every (seed, configuration) at once, so the workers never wait for a seed to finish.
        labels = kwargs.pop("labels", None) or ["ANN" if c.ann else c.encoding for c in configs]
        flat = [replace(c, seed=s) for s in seeds for c in configs]
        names = [f"{label} seed {s}" for s in seeds for label in labels]
        done = prepare_models(flat, cache, labels=names, log=log, **kwargs)
        for art, label in zip(done, labels * len(seeds)):
            art.label = label
        return {s: done[k * len(configs):(k + 1) * len(configs)] for k, s in enumerate(seeds)}
    out: dict[int, list[ModelArtifacts]] = {}
    for k, seed in enumerate(seeds, start=1):
        if len(seeds) > 1:
            log(f"seed {seed} ({k}/{len(seeds)})")
        out[seed] = prepare_models([replace(c, seed=seed) for c in configs], cache, log=log, **kwargs)
    return out
