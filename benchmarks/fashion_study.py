"""The paper's comparisons on a real dataset: Fashion-MNIST trained, replayed, priced and tested.

    python benchmarks/fashion_study.py             # the whole study (about 6 hours on 2 cores; resumable)
    python benchmarks/fashion_study.py --quick     # the same pipeline on a small budget (under 15 minutes)
    python benchmarks/fashion_study.py --report    # only the tables, from the models finished so far
    python benchmarks/fashion_study.py --reprice   # energies again from the cached replays, then the tables
    python benchmarks/fashion_study.py --retime    # rebuild models priced before time, check them, price them

Three parts (``--parts``, default all):

``grid``
    LeNet x {direct, temporal, hybrid} x {ASNN, LIF} x seeds 0-2 at T = 4, and the ANN
    twin per seed.
``timesteps``
    LeNet, ASNN, seed 0, T in {1, 2, 8} for direct, temporal and hybrid (hybrid needs
    T >= 2; T = 4 comes from the grid): accuracy and energy against T.
``models``
    resnet-small and spikformer-small x {direct, temporal, hybrid}, ASNN, seed 0, and
    their ANN twins.

Every model is trained with ``asnn_sim.app.pipeline`` (the code of ``asnn compare``),
exported, replayed on the whole test set (10,000 images) in float64 with the parity check
against PyTorch, and priced on every shipped profile against the dense ANN and the
replayed (zero-skipping) ANN twin of the same seed, with the firing-rate convention
beside. Each finished model leaves one small file in ``benchmarks/results/fashion_study/``
(``fashion_study-quick/`` for ``--quick``): its configuration, training time, test
predictions, parity, counts and energies. A rerun skips the models whose file exists and
resumes an interrupted training from its checkpoint; trained runs and replays live in
``benchmarks/.cache/fashion_study/``. The report (``report.md`` in the same folder, the
tables of docs/fashion-mnist.md) is computed from those files only, by
``benchmarks/fashion_report.py``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from asnn_sim.training.train import TrainConfig  # noqa: E402

CACHE = HERE / ".cache" / "fashion_study"
RESULTS = HERE / "results"
ENCODINGS = ("direct", "temporal", "hybrid")
SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class Budget:
    """How much each part trains, and on how many images."""

    lenet_epochs: int
    resnet_epochs: int
    spikformer_epochs: int
    train_limit: int | None  # first N training (and test) images; None: all
    replay_limit: int | None  # test images replayed; None: all
    seeds: tuple[int, ...]
    timesteps: tuple[int, ...]


# The full study fits about 6 hours on this project's 2-core VM (NOTES.md has the
# measured time); Spikformer-small costs about 19 minutes per epoch there, hence one.
FULL = Budget(lenet_epochs=4, resnet_epochs=4, spikformer_epochs=1, train_limit=None, replay_limit=None,
              seeds=SEEDS, timesteps=(1, 2, 8))
QUICK = Budget(lenet_epochs=1, resnet_epochs=1, spikformer_epochs=1, train_limit=2_000, replay_limit=500,
               seeds=(0,), timesteps=(2, 8))


@dataclass(frozen=True)
class Entry:
    """One model of the study."""

    part: str
    model: str
    encoding: str  # "ann" for the twin
    asnn: bool
    timesteps: int
    seed: int
    epochs: int

    @property
    def name(self) -> str:
        neurons = "ann" if self.encoding == "ann" else ("asnn" if self.asnn else "lif")
        label = "" if self.encoding == "ann" else f"{self.encoding}-"
        return f"{self.model}-{label}{neurons}-T{self.timesteps}-s{self.seed}-e{self.epochs}"

    def config(self, budget: Budget) -> TrainConfig:
        ann = self.encoding == "ann"
        return TrainConfig(model=self.model, dataset="fashion-mnist", encoding="hybrid" if ann else self.encoding,
                           timesteps=self.timesteps, asnn=self.asnn, ann=ann, epochs=self.epochs, seed=self.seed,
                           limit=budget.train_limit)

    def twin(self) -> "Entry":
        """The ANN this model is priced against (same model, seed and epochs)."""
        return replace(self, encoding="ann", asnn=True, timesteps=4)


def plan(budget: Budget, parts: set[str]) -> list[Entry]:
    """Every model of the chosen parts, each ANN twin before the models priced against it."""
    out: list[Entry] = []

    def add(e: Entry) -> None:
        # By name: the T sweep's twin is the grid's (same model, seed and epochs).
        for needed in ([e.twin()] if e.encoding != "ann" else []) + [e]:
            if needed.name not in {x.name for x in out}:
                out.append(needed)

    e = budget.lenet_epochs
    if "grid" in parts:
        for seed in budget.seeds:
            for encoding in ENCODINGS:
                for asnn in (True, False):
                    add(Entry("grid", "lenet", encoding, asnn, 4, seed, e))
    if "timesteps" in parts:
        for T in budget.timesteps:
            for encoding in ENCODINGS:
                if encoding == "hybrid" and T < 2:
                    continue
                add(Entry("timesteps", "lenet", encoding, True, T, budget.seeds[0], e))
    if "models" in parts:
        for model, epochs in (("resnet-small", budget.resnet_epochs), ("spikformer-small", budget.spikformer_epochs)):
            for encoding in ENCODINGS:
                add(Entry("models", model, encoding, True, 4, budget.seeds[0], epochs))
    return out


def select(entries: list[Entry], patterns: str) -> list[Entry]:
    """The entries whose name matches one of the comma-separated shell ``patterns`` (all if none), twins kept."""
    import fnmatch

    wanted = [p.strip() for p in patterns.split(",") if p.strip()]
    if not wanted:
        return entries
    chosen = {e.name for e in entries if any(fnmatch.fnmatchcase(e.name, p) for p in wanted)}
    if not chosen:
        raise SystemExit(f"fashion_study: --only {patterns!r} matches no model of the chosen parts")
    chosen |= {e.twin().name for e in entries if e.name in chosen and e.encoding != "ann"}
    return [e for e in entries if e.name in chosen]


# ------------------------------------------------------------------------ one model


def _build(entry: Entry, budget: Budget) -> tuple[Path, Path]:
    """Train (or resume), export and replay one model through the cache: its run folder and replay folder."""
    from asnn_sim.app.pipeline import export_cached, simulate_cached, train_cached

    run = train_cached(entry.config(budget), CACHE, device="cpu", progress=False, log=_log)
    graph = export_cached(run, log=_log)
    counts = simulate_cached(graph, run, limit=budget.replay_limit, precision="float64", check_parity=True,
                             progress=False, log=_log)
    return run, counts


def run_entry(entry: Entry, budget: Budget, results: Path) -> dict:
    """Train, export, replay and price one model; write and return its result file."""
    t0 = time.perf_counter()
    run, counts = _build(entry, budget)
    result = _result(entry, budget, run, counts, time.perf_counter() - t0)
    _write_result(results, result)
    return result


def _result(entry: Entry, budget: Budget, run: Path, counts: Path, seconds: float) -> dict:
    """One model's result record from its run and replay folders."""
    sim = json.loads((counts / "summary.json").read_text())
    train_summary = json.loads((run / "summary.json").read_text())
    per_sample = _per_sample(counts)
    return {
        "name": entry.name,
        "entry": asdict(entry),
        "config": asdict(entry.config(budget)),
        "train": {k: train_summary[k] for k in ("test_accuracy", "train_seconds", "epochs", "n_train", "n_test",
                                                 "device", "torch", "torch_threads")},
        # A seed gives the same model only on the same CPU kernel set and thread count
        # (docs/reproducibility.md): say which machine trained it.
        "machine": machine(),
        "replay": {
            "n": sim["n_samples"],
            "accuracy": sim["accuracy"],
            "accuracy_by_timesteps": sim["accuracy_by_timesteps"],
            "parity": sim.get("parity"),
            "samples_per_second": sim["samples_per_second"],
            # One digit per test image: the paired tests compare models image by image.
            "predictions": "".join(map(str, per_sample["prediction"])),
            "labels_sha": _digest(per_sample["label"]),
        },
        "per_inference": {k: sim["per_inference"][k] for k in PER_INFERENCE},
        "spikes_per_inference": sim["spikes_per_inference"],
        "energy": None if entry.encoding == "ann" else _energy(counts, _counts_of(entry.twin(), budget)),
        "study_seconds": round(seconds, 1),
    }


def machine() -> dict:
    """The CPU model and the kernel set torch uses on it (a trained model depends on both)."""
    import torch
    from bench_sim import machine as machine_facts  # the benchmarks' reading of the CPU model

    return {"cpu": machine_facts()["cpu"], "capability": torch.backends.cpu.get_cpu_capability()}


#: The replay's counts per inference a result keeps (and a rebuilt model must reproduce).
PER_INFERENCE = ("synaptic_acs", "synaptic_macs", "dense_macs", "output_spikes", "neurons")


def priced_with_time(result: dict) -> bool:
    """Whether a spiking model's energies carry the timing model's columns (ANN twins: always true)."""
    energy = result.get("energy")
    return energy is None or any("snn_seconds" in v for v in energy.values())


def rebuild_difference(result: dict, counts: Path) -> str | None:
    """What differs between a result file and a model rebuilt from its configuration (None: the same model).

    Training is deterministic for a seed, software and thread count, so a rebuilt model
    must predict every test image as the stored one did and replay to the same counts.
    """
    sim = json.loads((counts / "summary.json").read_text())
    stored = result["replay"]["predictions"]
    rebuilt = "".join(map(str, _per_sample(counts)["prediction"]))
    if rebuilt != stored:
        if len(rebuilt) != len(stored):
            return f"{len(rebuilt):,} predictions, the file has {len(stored):,}"
        return f"{sum(a != b for a, b in zip(rebuilt, stored)):,} of {len(stored):,} predictions differ"
    for key in PER_INFERENCE:
        if not math.isclose(sim["per_inference"][key], result["per_inference"][key], rel_tol=1e-12, abs_tol=1e-12):
            return f"{key} per inference {sim['per_inference'][key]!r}, the file has {result['per_inference'][key]!r}"
    return None


def retime(entries: list[Entry], budget: Budget, results: Path) -> int:
    """Rebuild the chosen finished spiking models priced before the timing model and price them with time.

    A fresh checkout has the result files but not the trained runs, so ``--reprice``
    cannot reach them: this retrains each such model (and its ANN twin) from its
    configuration. Where the rebuilt model predicts every test image as its file says and
    replays to the same counts, only ``energy`` is replaced (training and replay times stay
    as first measured; ``retimed`` records the rebuild). Where it does not (another CPU
    kernel set, thread count or software: docs/reproducibility.md), the file cannot be
    priced again, so the rebuilt model replaces it whole, and ``replaces`` keeps what it
    differed in and the stored model's accuracy and machine. Returns how many result files
    were rewritten.
    """
    done = load_results(results)
    stale = [e for e in entries if e.name in done and not priced_with_time(done[e.name])]
    needed = {e.name for e in stale} | {e.twin().name for e in stale}
    todo = [e for e in entries if e.name in needed]
    missing = sorted(n for n in needed if n not in done)
    if missing:
        raise SystemExit(f"fashion_study: {missing[0]} has no result file; run the study for it before --retime")
    _log(f"fashion study: {len(stale)} models priced before time; rebuilding {len(todo)} (with their ANN twins)")
    rewritten = 0
    for i, entry in enumerate(todo, start=1):
        t0 = time.perf_counter()
        _log(f"[{i}/{len(todo)}] {entry.name} (rebuild)")
        run, counts = _build(entry, budget)
        stored = done[entry.name]
        differs = rebuild_difference(stored, counts)
        if differs:
            result = _result(entry, budget, run, counts, time.perf_counter() - t0)
            result["replaces"] = {"difference": differs, "accuracy": stored["replay"]["accuracy"],
                                  "machine": stored.get("machine", "not recorded")}
            _log(f"  not the stored model ({differs}): replaced, accuracy {stored['replay']['accuracy']:.4f} -> "
                 f"{result['replay']['accuracy']:.4f}")
        elif entry.encoding == "ann":
            continue
        else:
            result = stored
            result["energy"] = _energy(counts, _counts_of(entry.twin(), budget))
            result["retimed"] = {"date": time.strftime("%Y-%m-%d"), "seconds": round(time.perf_counter() - t0, 1)}
            _log("  the stored model (predictions and counts agree): priced again")
        _write_result(results, result)
        rewritten += 1
    return rewritten


def _write_result(results: Path, result: dict) -> None:
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{result['name']}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(path)


def reprice(results: Path, budget: Budget) -> int:
    """Price the finished models again from their cached replays (after a fix to the energy code).

    Only ``energy`` changes: training, replay and the measured times stay as recorded.
    Models whose replay is not cached here (a fresh checkout) are left as they are and
    named. Returns how many result files were rewritten.
    """
    done, uncached = 0, []
    for result in load_results(results).values():
        entry = Entry(**result["entry"])
        if entry.encoding == "ann":
            continue
        counts, ann = _counts_of(entry, budget), _counts_of(entry.twin(), budget)
        if not (counts / "summary.json").is_file() or not (ann / "summary.json").is_file():
            uncached.append(entry.name)
            continue
        result["energy"] = _energy(counts, ann)
        _write_result(results, result)
        done += 1
    if uncached:
        _log(f"fashion study: no cached replay for {len(uncached)} models, left as priced before: "
             + ", ".join(uncached) + " (--retime rebuilds those priced before the timing model)")
    if not done and uncached:
        raise SystemExit(f"fashion_study: no model has a cached replay in {CACHE}; nothing repriced")
    return done


def _counts_of(entry: Entry, budget: Budget) -> Path:
    from asnn_sim.app.pipeline import replay_dir_for, run_dir_for

    return replay_dir_for(run_dir_for(entry.config(budget), CACHE), limit=budget.replay_limit)


def _per_sample(counts: Path):
    import pandas as pd

    table = pd.read_parquet(counts / "per_sample.parquet", columns=["sample", "label", "prediction"])
    return table.drop_duplicates("sample").sort_values("sample")


def _digest(values) -> str:
    import hashlib

    return hashlib.sha256(np.asarray(values, dtype=np.int64).tobytes()).hexdigest()[:16]


CONVENTION = "firing-rate convention"  # the transformer-SNN papers' convention beside the profiles in ``energy``

#: What a result stores of the energy summary's time columns (hw_models/timing.py).
TIME_FIELDS = {"snn_seconds": "snn_seconds", "ann_dense_seconds": "ann_seconds", "snn_static_pj": "snn_static_pj",
               "snn_edp_js": "snn_edp_js", "ann_dense_edp_js": "ann_edp_js"}


def _finite(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _energy(counts: Path, ann_counts: Path) -> dict:
    """Per profile: SNN energy, against the dense ANN and the replayed (zero-skipping) ANN, and the firing-rate convention."""
    import asnn_sim.api as asnn
    from hw_models.counts import load_counts
    from hw_models.firing_rate import firing_rate_estimate

    dense = asnn.energy(counts).summary.set_index("profile")
    skip = asnn.energy(counts, ann_counts=ann_counts).summary.set_index("profile")
    out = {}
    for profile in dense.index:
        out[profile] = {
            "snn_pj": float(dense.at[profile, "snn_pj"]),
            "ann_dense_pj": float(dense.at[profile, "ann_pj"]),
            "ratio_dense": float(dense.at[profile, "ratio"]),
            "ratio_dense_low": float(dense.at[profile, "ratio_low"]),
            "ratio_dense_high": float(dense.at[profile, "ratio_high"]),
            "ann_zero_skip_pj": float(skip.at[profile, "ann_pj"]),
            "ratio_zero_skip": float(skip.at[profile, "ratio"]),
            # time per inference on the profile's timing model (None where it has none)
            **{key: _finite(dense.at[profile, column]) for key, column in TIME_FIELDS.items()},
        }
    fr = firing_rate_estimate(load_counts(counts))
    out[CONVENTION] = {"snn_pj": fr.energy_pj, "ann_dense_pj": fr.ann_pj, "ratio_dense": fr.ratio}
    return out


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def load_results(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


# ---------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small budget: 2,000 images, 1 epoch, 1 seed, 500 replays")
    parser.add_argument("--parts", default="grid,timesteps,models", help="comma list of grid, timesteps, models")
    parser.add_argument("--only", default="", metavar="PATTERNS",
                        help="comma list of shell patterns: run only the models whose name matches one, in the "
                             "plan's order (e.g. '*-asnn-*,*-ann-*'); their ANN twins come first as always")
    parser.add_argument("--report", action="store_true", help="write the report from the finished models only")
    parser.add_argument("--reprice", action="store_true",
                        help="price the finished models again from their cached replays (after a fix to the energy "
                             "code), then write the report")
    parser.add_argument("--retime", action="store_true",
                        help="rebuild the chosen finished models that were priced before the timing model (retrain "
                             "from their configuration) and price them with time, then write the report; a rebuilt "
                             "model that differs from its file (another CPU or software) replaces it")
    args = parser.parse_args()
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    unknown = parts - {"grid", "timesteps", "models"}
    if unknown:
        raise SystemExit(f"fashion_study: unknown part {sorted(unknown)[0]!r}; choose from grid, timesteps, models")
    budget = QUICK if args.quick else FULL
    results_dir = RESULTS / ("fashion_study-quick" if args.quick else "fashion_study")

    from asnn_sim.util import allocator, threads
    from fashion_report import write_report

    threads.prepare()
    allocator.keep_freed_memory()
    from asnn_sim.training.data import load_dataset

    labels = load_dataset("fashion-mnist", split="test").y_test[: budget.replay_limit]
    entries = select(plan(budget, parts), args.only)
    if args.reprice:
        _log(f"fashion study: {reprice(results_dir, budget)} models priced again")
    elif args.retime:
        _log(f"fashion study: {retime(entries, budget, results_dir)} models rebuilt and priced with time")
    elif not args.report:
        done = load_results(results_dir)
        todo = [e for e in entries if e.name not in done]
        _log(f"fashion study: {len(entries)} models, {len(entries) - len(todo)} finished, {len(todo)} to go")
        for i, entry in enumerate(todo, start=1):
            _log(f"[{i}/{len(todo)}] {entry.name}")
            r = run_entry(entry, budget, results_dir)
            _log(f"  accuracy {r['replay']['accuracy']:.4f}, trained in {r['train']['train_seconds']:.0f} s, "
                 f"{r['study_seconds']:.0f} s in all")
    results = load_results(results_dir)
    for r in results.values():
        if r["replay"]["labels_sha"] != _digest(labels):
            raise SystemExit(f"{r['name']}: replayed on other test labels than these; remove its result file")
    text = write_report(results, budget, labels, results_dir)
    print(text)


if __name__ == "__main__":
    main()
