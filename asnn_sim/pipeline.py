"""Train -> export -> simulate for several encodings, reusing earlier results from a cache.

Each model lives in ``CACHE/<model>-<dataset>-<label>-T<T>-<hash>/`` where the hash is
over its full :class:`~asnn_sim.train.TrainConfig`, so a cached run is reused exactly
when the configuration matches. Inside: the run files, ``model.asnn`` and a ``counts-*``
folder per replay setting. An interrupted run resumes from its checkpoint.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from asnn_sim.train import TrainConfig, train

DEFAULT_CACHE = Path(".asnn-cache")


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


def config_key(config: TrainConfig) -> str:
    """Short stable hash of a configuration."""
    text = json.dumps(asdict(config), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def run_dir_for(config: TrainConfig, cache: Path) -> Path:
    label = "ann" if config.ann else config.encoding
    return cache / f"{config.model}-{config.dataset}-{label}-T{config.timesteps}-{config_key(config)}"


def train_cached(config: TrainConfig, cache: Path, *, device: str = "auto", progress: bool = True, log: Callable[[str], None] = print) -> Path:
    """Train ``config`` unless an identical finished run is cached; returns the run directory."""
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
    from asnn_sim.export import export_run
    from asnn_sim.ir import save_graph

    path = run / "model.asnn"
    if not path.is_file() or path.stat().st_mtime < (run / "model.pt").stat().st_mtime:
        save_graph(export_run(run), path)
        log(f"  exported {path}")
    return path


def simulate_cached(
    graph_path: Path,
    run: Path,
    *,
    split: str = "test",
    limit: int | None = None,
    precision: str = "float64",
    check_parity: bool = True,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Path:
    """Replay the dataset the run was trained on; reuse a replay made with the same settings."""
    from asnn_sim.data import load_dataset
    from asnn_sim.ir import load_graph
    from asnn_sim.sim import simulate

    tag = f"counts-{split}-{precision}" + (f"-n{limit}" if limit else "")
    out = run / tag
    summary = out / "summary.json"
    if summary.is_file() and summary.stat().st_mtime >= graph_path.stat().st_mtime:
        log(f"  reusing replay {out}")
        return out
    graph = load_graph(graph_path)
    config = TrainConfig.from_dict(graph.metadata["train_config"])
    data = load_dataset(config.dataset, config.data_dir)
    images, labels = (data.x_test, data.y_test) if split == "test" else (data.x_train, data.y_train)
    if limit:
        images, labels = images[:limit], labels[:limit]
    if check_parity:
        from asnn_sim.parity import check_parity as parity

        result, report = parity(graph, run, images, labels, precision=precision, progress=progress)
        log(f"  {report.describe()}")
    else:
        result = simulate(graph, images, labels, precision=precision, progress=progress)
    result.summary["dataset"] = {"name": config.dataset, "split": split}
    result.summary["graph_file"] = str(graph_path)
    result.save(out)
    return out


def prepare_models(
    configs: list[TrainConfig],
    cache: Path = DEFAULT_CACHE,
    *,
    device: str = "auto",
    limit: int | None = None,
    precision: str = "float64",
    check_parity: bool = True,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> list[ModelArtifacts]:
    """Train (or reuse), export and replay every configuration, in order."""
    artifacts = []
    for i, config in enumerate(configs, start=1):
        label = "ANN" if config.ann else config.encoding
        log(f"[{i}/{len(configs)}] {label}")
        run = train_cached(config, cache, device=device, progress=progress, log=log)
        graph = export_cached(run, log=log)
        counts = simulate_cached(graph, run, limit=limit, precision=precision, check_parity=check_parity, progress=progress, log=log)
        artifacts.append(
            ModelArtifacts(
                label=label,
                config=config,
                run_dir=run,
                graph_path=graph,
                counts_dir=counts,
                train_summary=json.loads((run / "summary.json").read_text()),
                sim_summary=json.loads((counts / "summary.json").read_text()),
            )
        )
    return artifacts
