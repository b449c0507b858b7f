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
tables of docs/fashion-mnist.md) is computed from those files only: accuracy with a 95 %
Wilson interval, paired tests on the same test images (exact McNemar per seed, and a
paired bootstrap of the seed-mean difference), energy ratios as mean and min-max over
seeds, and verdicts only where every test agrees.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
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
TIMESTEPS_FIGURE = "timesteps.png"  # beside report.md
LATENCY_FIGURE = "energy_vs_latency.png"  # the T sweep's energy against time, beside report.md
LATENCY_PROFILES = ("loihi", "truenorth", "cmos45-int8-sram")  # one per timing model (docs/energy.md, "Time")
FIGURE_PROFILE = "cmos45-int8-sram"  # the T sweep's energies, in its table and its figure


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

    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "capability": torch.backends.cpu.get_cpu_capability()}


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
    out["firing-rate convention"] = {"snn_pj": fr.energy_pj, "ann_dense_pj": fr.ann_pj, "ratio_dense": fr.ratio}
    return out


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------ statistics


def wilson(correct: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def mcnemar_exact(a_right: np.ndarray, b_right: np.ndarray) -> tuple[int, int, float]:
    """Exact (binomial) McNemar test on paired outcomes: (a only right, b only right, two-sided p)."""
    a_right, b_right = np.asarray(a_right, dtype=bool), np.asarray(b_right, dtype=bool)
    b = int(np.sum(a_right & ~b_right))
    c = int(np.sum(~a_right & b_right))
    n = b + c
    if n == 0:
        return b, c, 1.0
    k = min(b, c)
    # P(X <= k) for X ~ Binomial(n, 1/2), doubled, computed in log space (n can be thousands).
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2) for i in range(k + 1)]
    top = max(logs)
    tail = math.exp(top) * sum(math.exp(v - top) for v in logs)
    return b, c, min(1.0, 2 * tail)


def paired_bootstrap(a_right: list[np.ndarray], b_right: list[np.ndarray], rounds: int = 10_000,
                     seed: int = 0) -> tuple[float, float, float, float]:
    """Seed-mean accuracy difference a - b, its 95 % interval and two-sided p, resampling test images.

    Each list holds one boolean array per seed, all over the same test images; one
    resample of the images is applied to every seed, so the seeds stay paired too.
    """
    a = np.mean([x.astype(np.float64) for x in a_right], axis=0)  # per image: share of seeds right
    b = np.mean([x.astype(np.float64) for x in b_right], axis=0)
    diff = a - b
    rng = np.random.default_rng(seed)
    n = len(diff)
    means = np.empty(rounds)
    for r in range(0, rounds, 1_000):
        idx = rng.integers(0, n, size=(min(1_000, rounds - r), n))
        means[r : r + len(idx)] = diff[idx].mean(axis=1)
    observed = float(diff.mean())
    low, high = np.percentile(means, [2.5, 97.5])
    # Two-sided p: how often the resampled difference falls on the other side of 0.
    p = 2 * min(np.mean(means <= 0), np.mean(means >= 0))
    return observed, float(low), float(high), float(min(1.0, p))


# --------------------------------------------------------------------------- report


def load_results(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def _right(result: dict, labels: np.ndarray) -> np.ndarray:
    return np.frombuffer(result["replay"]["predictions"].encode(), dtype=np.uint8) - ord("0") == labels


def index(results: dict[str, dict]) -> dict[tuple, dict]:
    """Results keyed by (part, model, encoding, asnn, timesteps, seed)."""
    keys = ("part", "model", "encoding", "asnn", "timesteps", "seed")
    return {tuple(r["entry"][k] for k in keys): r for r in results.values()}


def _sweep(by, budget):
    """(T, encoding, result) of the T sweep (LeNet, ASNN, first seed), T = 4 from the grid."""
    s0 = budget.seeds[0]
    for T in sorted(set(budget.timesteps) | {4}):
        for encoding in ENCODINGS:
            r = by.get(("grid" if T == 4 else "timesteps", "lenet", encoding, True, T, s0))
            if r is not None:
                yield T, encoding, r


def report(results: dict[str, dict], budget: Budget, labels: np.ndarray) -> str:
    """The study's tables (markdown) from the finished models' result files."""
    by = index(results)
    lines: list[str] = []
    n_test = len(labels)
    if budget.train_limit:
        lines += [f"**A pipeline check, not evidence**: {budget.train_limit:,} training images, "
                  f"{budget.lenet_epochs} epoch(s), {n_test:,} test images; the differences below come from how far "
                  "each model got in a few dozen steps.", ""]
    seconds = sum(r["train"]["train_seconds"] for r in results.values())
    study = sum(r["study_seconds"] for r in results.values())
    lines += [
        f"{len(results)} models; training {seconds / 3600:.2f} h, train + replay + pricing {study / 3600:.2f} h "
        f"in all (this project's 2-core CPU VMs). Test images replayed per model: {n_test:,}. "
        f"Budget: LeNet {budget.lenet_epochs} epochs, resnet-small {budget.resnet_epochs}, spikformer-small "
        f"{budget.spikformer_epochs}; batch 64, Adam, lr 5e-3, cosine schedule"
        + (f"; first {budget.train_limit:,} training images" if budget.train_limit else "; all 60,000 training images") + ".",
        "",
    ]
    lines += _machines_line(results)
    lines += _untimed_note(results)
    lines += _grid_tables(by, budget, labels)
    lines += _timesteps_table(by, budget, labels)
    lines += _fewer_steps_table(by, budget, labels)
    lines += _models_table(by, budget, labels)
    lines += _energy_table(by, budget)
    lines += _time_table(by, budget)
    lines += _parity_table(results)
    return "\n".join(lines) + "\n"


def _acc(r: dict, labels) -> tuple[float, float, float]:
    right = int(_right(r, labels).sum())
    lo, hi = wilson(right, len(labels))
    return right / len(labels), lo, hi


def _grid_tables(by, budget, labels) -> list[str]:
    seeds = [s for s in budget.seeds if any(k[0] == "grid" and k[5] == s for k in by)]
    if not seeds:
        return []
    out = [f"### Accuracy (LeNet, T = 4, {len(labels):,} test images)", "",
           "Per seed: accuracy of the float64 replay [95 % Wilson interval]; mean and min-max over seeds.", "",
           "| encoding | neurons | " + " | ".join(f"seed {s}" for s in seeds) + " | mean [min-max] |",
           "|---|---|" + "---|" * (len(seeds) + 1)]
    rows = [(e, a) for e in ENCODINGS for a in (True, False)] + [("ann", True)]
    for encoding, asnn in rows:
        cells, accs = [], []
        for s in seeds:
            r = by.get(("grid", "lenet", encoding, asnn, 4, s))
            if r is None:
                cells.append("-")
                continue
            acc, lo, hi = _acc(r, labels)
            accs.append(acc)
            cells.append(f"{acc:.4f} [{lo:.4f}-{hi:.4f}]")
        mean = f"{statistics.mean(accs):.4f} [{min(accs):.4f}-{max(accs):.4f}]" if accs else "-"
        who = "ANN twin" if encoding == "ann" else encoding
        out.append(f"| {who} | {'ReLU' if encoding == 'ann' else ('ASNN' if asnn else 'LIF')} | " + " | ".join(cells)
                   + f" | {mean} |")
    out += ["", "### Paired comparisons on the same test images", "",
            "Exact McNemar per seed (images only the first model got right / only the second, p); paired bootstrap "
            "(10,000 resamples of the test images) of the seed-mean accuracy difference with its 95 % interval. "
            "A verdict needs p < 0.05 in the bootstrap and in McNemar for every seed, all in the same direction.", "",
            "| comparison | McNemar per seed: b / c, p | difference (points) [95 %] | bootstrap p | verdict |",
            "|---|---|---|---|---|"]
    pairs = [("hybrid vs temporal (ASNN)", ("hybrid", True), ("temporal", True)),
             ("hybrid vs direct (ASNN)", ("hybrid", True), ("direct", True)),
             ("temporal vs direct (ASNN)", ("temporal", True), ("direct", True))]
    pairs += [(f"ASNN vs LIF ({e})", (e, True), (e, False)) for e in ENCODINGS]
    for title, (ea, aa), (eb, ab) in pairs:
        got = [(by.get(("grid", "lenet", ea, aa, 4, s)), by.get(("grid", "lenet", eb, ab, 4, s))) for s in seeds]
        got = [(a, b) for a, b in got if a is not None and b is not None]
        if not got:
            continue
        rights = [(_right(a, labels), _right(b, labels)) for a, b in got]
        tests = [mcnemar_exact(a, b) for a, b in rights]
        diff, lo, hi, p = paired_bootstrap([a for a, _ in rights], [b for _, b in rights])
        per_seed = "; ".join(f"{b}/{c}, p={pv:.2g}" for b, c, pv in tests)
        same_side = all((b > c) == (diff > 0) for b, c, _ in tests)
        if p < 0.05 and same_side and all(pv < 0.05 for _, _, pv in tests):
            verdict = f"{title.split(' vs ')[0] if diff > 0 else title.split(' vs ')[1].split(' (')[0]} more accurate"
            if len(got) < len(budget.seeds):  # the test images vary, the training does not yet
                verdict += f" (these {len(got)} of {len(budget.seeds)} seeds' models only)"
        else:
            verdict = "no difference shown"
        shown = f"{p:.3g}" if p > 0 else "< 0.0001"  # none of the 10,000 resamples crossed 0
        out.append(f"| {title} | {per_seed} | {100 * diff:+.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}] | {shown} | {verdict} |")
    return out + [""]


def _timesteps_table(by, budget, labels) -> list[str]:
    rows, steps = [], set()
    for T, encoding, r in _sweep(by, budget):
        steps.add(T)
        acc, lo, hi = _acc(r, labels)
        e = (r["energy"] or {}).get(FIGURE_PROFILE, {})
        loihi = (r["energy"] or {}).get("loihi", {})
        rows.append(f"| {T} | {encoding} | {acc:.4f} [{lo:.4f}-{hi:.4f}] | {r['spikes_per_inference']:,.0f} | "
                    f"{e.get('snn_pj', float('nan')) / 1e3:,.0f} | {e.get('ratio_dense', float('nan')):.3f} | "
                    f"{loihi.get('ratio_dense', float('nan')):.3f}{'' if priced_with_time(r) else UNTIMED} | "
                    f"{r['train']['train_seconds'] / 60:.1f} |")
    if not rows:
        return []
    return ["### Accuracy and energy against T (LeNet, ASNN, seed 0)", "",
            f"Energy per inference on `{FIGURE_PROFILE}` (nJ) and SNN/ANN (dense ANN) there and on `loihi`.", "",
            *([f"![Accuracy and energy against T]({TIMESTEPS_FIGURE})", ""] if len(steps) > 1 else []),
            "| T | encoding | accuracy [95 %] | spikes per inference | int8 SNN nJ | SNN/ANN int8 | SNN/ANN loihi | "
            "training min |", "|---|---|---|---|---|---|---|---|", *rows, ""]


def _fewer_steps_table(by, budget, labels) -> list[str]:
    """The paper's claim head on: hybrid coding at T against temporal coding at 2T (and direct at T), paired."""
    sweep = {(T, e): r for T, e, r in _sweep(by, budget)}
    rows = []
    for T in sorted({T for T, _ in sweep}):
        for (ea, ta), (eb, tb) in ((("hybrid", T), ("temporal", 2 * T)), (("hybrid", T), ("temporal", T)),
                                   (("direct", T), ("hybrid", T))):
            a, b = sweep.get((ta, ea)), sweep.get((tb, eb))
            if a is None or b is None:
                continue
            ra, rb = _right(a, labels), _right(b, labels)
            only_a, only_b, p = mcnemar_exact(ra, rb)
            diff, lo, hi, _ = paired_bootstrap([ra], [rb])
            energy = a["energy"][FIGURE_PROFILE]["snn_pj"] / b["energy"][FIGURE_PROFILE]["snn_pj"]
            if p < 0.05:
                said = f"{ea} T={ta} more accurate" if diff > 0 else f"{eb} T={tb} more accurate"
            else:
                said = "no difference shown"
            rows.append(f"| {ea} T={ta} vs {eb} T={tb} | {only_a}/{only_b}, p={p:.2g} | {100 * diff:+.2f} "
                        f"[{100 * lo:+.2f}, {100 * hi:+.2f}] | {energy:.2f} | {said} |")
    if not rows:
        return []
    return ["Paired on the same 10,000 test images (exact McNemar: images only the first model got right / only "
            "the second; bootstrap interval of the difference), with the energy ratio on "
            f"`{FIGURE_PROFILE}`. One seed's models: whether it holds for other seeds is not tested.", "",
            "| comparison | McNemar b/c, p | difference (points) [95 %] | energy first/second | verdict |",
            "|---|---|---|---|---|", *rows, ""]


def timesteps_points(by, budget, labels) -> tuple[list[dict], dict[str, float]]:
    """The T sweep's points (accuracy with its Wilson interval, energy on :data:`FIGURE_PROFILE`) and the ANN lines."""
    points, ann = [], {}
    for T, encoding, r in _sweep(by, budget):
        acc, lo, hi = _acc(r, labels)
        energy = r["energy"][FIGURE_PROFILE]
        points.append(dict(encoding=encoding, timesteps=T, accuracy=acc, accuracy_low=lo, accuracy_high=hi,
                           energy_pj=energy["snn_pj"]))
        # The twin is the same for every T (an ANN has no timesteps): any entry's copy will do.
        ann = {"ANN dense": energy["ann_dense_pj"], "ANN zero-skip": energy["ann_zero_skip_pj"]}
    return points, ann


def _timesteps_figure(by, budget, labels, path: Path) -> Path | None:
    import pandas as pd

    from asnn_sim.app.plots import plot_against_timesteps

    points, ann = timesteps_points(by, budget, labels)
    if len({p["timesteps"] for p in points}) < 2:
        return None
    return plot_against_timesteps(pd.DataFrame(points), path, ann_energy_pj=ann,
                                  title=f"Fashion-MNIST, LeNet, ASNN, seed {budget.seeds[0]}: energy on {FIGURE_PROFILE}")


def sweep_latency_points(by, budget) -> "pd.DataFrame":
    """The T sweep's energy and time per inference on :data:`LATENCY_PROFILES` (results priced with time only)."""
    import pandas as pd

    rows = []
    for T, encoding, r in _sweep(by, budget):
        for profile in LATENCY_PROFILES:
            e = (r["energy"] or {}).get(profile) or {}
            if e.get("snn_seconds"):
                rows.append(dict(encoding=encoding, timesteps=T, profile=profile, snn_pj=e["snn_pj"],
                                 snn_seconds=e["snn_seconds"], ann_dense_pj=e["ann_dense_pj"],
                                 ann_dense_seconds=e["ann_dense_seconds"]))
    return pd.DataFrame(rows)


def _latency_figure(by, budget, path: Path) -> Path | None:
    from asnn_sim.app.plots import plot_energy_vs_latency

    points = sweep_latency_points(by, budget)
    if points.empty or points["timesteps"].nunique() < 2:
        return None
    return plot_energy_vs_latency(points, path, title=f"Fashion-MNIST, LeNet, ASNN, seed {budget.seeds[0]}: energy "
                                  "against time per inference as T grows (lower left is better; ANN: dense)")


def _models_table(by, budget, labels) -> list[str]:
    rows = []
    for model in ("lenet", "resnet-small", "spikformer-small"):
        part = "grid" if model == "lenet" else "models"
        for encoding in (*ENCODINGS, "ann"):
            r = by.get((part, model, encoding, True, 4, budget.seeds[0]))
            if r is None:
                continue
            acc, lo, hi = _acc(r, labels)
            rows.append(f"| {model} | {'ANN twin' if encoding == 'ann' else encoding} | {r['config']['epochs']} | "
                        f"{acc:.4f} [{lo:.4f}-{hi:.4f}] | {r['train']['train_seconds'] / 60:.1f} |")
    if not rows:
        return []
    return ["### Three networks (ASNN, T = 4, seed 0)", "",
            "| model | encoding | epochs | accuracy [95 %] | training min |", "|---|---|---|---|---|", *rows, ""]


def _priced_t4(by, seeds, encoding: str) -> list[dict]:
    """The grid's priced LeNet results (ASNN, T = 4) of ``encoding``, one per seed that has one."""
    found = [by.get(("grid", "lenet", encoding, True, 4, s)) for s in seeds]
    return [r for r in found if r is not None and r["energy"]]


def _energy_table(by, budget) -> list[str]:
    seeds = budget.seeds
    profiles: list[str] = []
    for r in by.values():
        for p in (r["energy"] or {}):
            if p not in profiles:
                profiles.append(p)
    if not profiles:
        return []
    out = ["### Energy: SNN / ANN per profile (LeNet, ASNN, T = 4)", "",
           "Mean [min-max] over seeds; against the dense ANN and against the replayed ANN twin that skips zero "
           "activations. Below 1 the SNN uses less energy. The last row is the transformer-SNN papers' "
           "firing-rate convention (fr x T x FLOPs, 0.9/4.6 pJ) on the same replays.", "",
           "| profile | " + " | ".join(f"{e} vs dense | {e} vs zero-skip" for e in ENCODINGS) + " |",
           "|---|" + "---|---|" * len(ENCODINGS)]
    static = _static_profiles(by)
    for p in profiles:
        cells = []
        for encoding in ENCODINGS:
            rs = [r for r in _priced_t4(by, seeds, encoding) if p in r["energy"]]
            mark = UNTIMED if p in static and not all(priced_with_time(r) for r in rs) else ""
            for key in ("ratio_dense", "ratio_zero_skip"):
                vals = [r["energy"][p][key] for r in rs if key in r["energy"][p]]
                cells.append(f"{statistics.mean(vals):.3f} [{min(vals):.3f}-{max(vals):.3f}]{mark}" if vals else "-")
        out.append(f"| {p} | " + " | ".join(cells) + " |")
    return out + [""]


#: Marks an energy priced before the timing model on a profile with static power (dynamic energy only).
UNTIMED = "°"


def _static_profiles(by) -> set[str]:
    """The profiles on which some result priced with time has static energy."""
    return {p for r in by.values() if r["energy"] for p, v in r["energy"].items() if (v.get("snn_static_pj") or 0) > 0}


def _machines_line(results: dict[str, dict]) -> list[str]:
    """Which CPUs trained the models (a seed's model depends on the CPU kernel set and thread count)."""
    from collections import Counter

    seen = Counter(f"{m['cpu']} ({m['capability']})" if (m := r.get("machine")) else "not recorded"
                   for r in results.values())
    if len(seen) < 2 and "not recorded" in seen:
        return []
    return ["Trained on: " + "; ".join(f"{cpu}: {n} model{'s' * (n != 1)}" for cpu, n in sorted(seen.items())) + ".", ""]


def _untimed_note(results: dict[str, dict]) -> list[str]:
    """A line naming the spiking models still priced before the timing model (none: no line)."""
    names = sorted(r["name"] for r in results.values() if not priced_with_time(r))
    if not names:
        return []
    were = "spiking model was" if len(names) == 1 else "spiking models were"
    return [f"{UNTIMED} {len(names)} {were} priced before the timing model and static energy: their "
            "energies on profiles with a static power (`loihi`) are dynamic only, and they have no time. "
            "`--retime` rebuilds and prices them: " + ", ".join(names) + ".", ""]


def _time_table(by, budget) -> list[str]:
    """Time per inference and energy-delay product per profile and encoding (results priced with time only)."""
    rows = []
    for encoding in ENCODINGS:
        rs = _priced_t4(by, budget.seeds, encoding)
        for profile in (rs[0]["energy"] if rs else {}):
            vals = [r["energy"][profile] for r in rs if (r["energy"].get(profile) or {}).get("snn_seconds")]
            if not vals:
                continue
            mean = lambda key: statistics.mean(v[key] for v in vals)  # noqa: E731
            static = mean("snn_static_pj") / mean("snn_pj") if mean("snn_static_pj") else None
            seeds = "" if len(vals) == len(rs) else f" ({len(vals)} of {len(rs)} seeds)"
            rows.append(f"| {profile} | {encoding}{seeds} | {mean('snn_seconds') * 1e6:,.4g} | {mean('ann_dense_seconds') * 1e6:,.4g} "
                        f"| {'-' if static is None else f'{100 * static:.1f} %'} | {mean('snn_edp_js'):.3g} "
                        f"| {mean('ann_dense_edp_js'):.3g} |")
    if not rows:
        return []
    sweep = sweep_latency_points(by, budget)
    figure = ([f"![Energy against time per inference as T grows]({LATENCY_FIGURE})", ""]
              if not sweep.empty and sweep["timesteps"].nunique() > 1 else [])
    return ["### Time per inference (LeNet, ASNN, T = 4)", "",
            "Mean over seeds, on each profile's timing model (docs/energy.md, \"Time\"); static share of the SNN's "
            "energy where the chip publishes a static power; EDP = energy x time per inference.", "",
            "| profile | encoding | SNN us | ANN dense us | static share | SNN EDP J s | ANN dense EDP J s |",
            "|---|---|---|---|---|---|---|", *rows, "", *figure]


def _parity_table(results) -> list[str]:
    snn = [r for r in results.values() if r["entry"]["encoding"] != "ann"]
    if not snn:
        return []
    compared = sum(r["replay"]["parity"]["spikes_compared"] for r in snn)
    spikes = sum(r["replay"]["parity"]["spike_mismatches"] for r in snn)
    preds = sum(r["replay"]["parity"]["prediction_mismatches"] for r in snn)
    samples = sum(r["replay"]["n"] for r in snn)
    return ["### Replay against PyTorch (float64)", "",
            f"{len(snn)} spiking models, {samples:,} replays: {spikes:,} of {compared:,} spikes and {preds:,} of "
            f"{samples:,} predictions differ.", ""]


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
    text = report(results, budget, labels)
    (results_dir / "report.md").write_text(text)
    _timesteps_figure(index(results), budget, labels, results_dir / TIMESTEPS_FIGURE)
    _latency_figure(index(results), budget, results_dir / LATENCY_FIGURE)
    print(text)


if __name__ == "__main__":
    main()
