"""Device-agnostic training of spiking models and their ANN twins.

A run directory holds::

    config.json     everything needed to rebuild the model (TrainConfig + data facts)
    model.pt        final state_dict (load with weights_only=True)
    metrics.csv     one row per epoch
    summary.json    final test accuracy, wall time, device
    checkpoint.pt   model + optimizer + scheduler after the last finished epoch (--resume)

A finished (or interrupted) run is extended with ``resume=True, epochs=N`` (``asnn train
--resume --epochs N``): training goes on to N epochs in all, the remaining epochs on the
cosine schedule of an N-epoch run (see :func:`train`).

Every file is written atomically. All randomness of an epoch (shuffling, augmentation,
mixup, rate coding) comes from a numpy generator seeded with ``(seed, epoch)``, so a
resumed run continues exactly as if it had never stopped, and the same seed on the same
CPU gives the same metrics.

Data-parallel training (``world`` from :mod:`asnn_sim.training.ddp`, under torchrun) wraps the
model in ``DistributedDataParallel``: a ``DistributedSampler`` deals each process a
disjoint shard of every epoch, each process takes ``batch_size // world_size`` samples
per step (the global batch stays ``batch_size``), its own randomness comes from
``(seed, epoch, rank)``, metrics are summed over the processes, and rank 0 alone writes
the run files. docs/ddp.md has the details.
"""

from __future__ import annotations

import json
import math
import platform
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from asnn_sim.util import allocator, atomic
from asnn_sim.training import ddp, run_folder
from asnn_sim.training.data import Dataset, augment_batch, iterate_batches, load_dataset
from asnn_sim.training.models import build_model
from asnn_sim.util.names import unknown_name
from asnn_sim.util.progress import progress as make_progress
from asnn_sim.training.train_config import DEVICES, MAX_TIMESTEPS, TrainConfig, TrainError

__all__ = [
    "DEVICES", "MAX_TIMESTEPS", "RUN_FILES", "TrainConfig", "TrainError", "evaluate", "load_run", "make_model",
    "model_inputs", "resolve_device", "train",
]

RUN_FILES = run_folder.RUN_FILES
# Small enough that a LeNet's activations (T x batch maps) stay in the CPU's caches: on
# this project's 2-core VM, Fashion-MNIST test images evaluate at about 1,900 per second
# in batches of 64 and 890 in batches of 256 (NOTES.md). Results do not depend on it.
EVAL_BATCH = 64
# The reference turns mixup off for the last ~27% of training (epoch 145 of 200).
MIXUP_OFF_FRACTION = 0.725


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present, else the CPU; asking for absent CUDA is an error."""
    if name not in DEVICES:
        raise TrainError(unknown_name("device", name, DEVICES))
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda was asked for but no CUDA GPU is available")
    return torch.device(name)


def make_model(config: TrainConfig, input_shape: tuple[int, int, int], n_classes: int) -> torch.nn.Module:
    """Build the (untrained) model a config describes."""
    if config.ann:
        return build_model(config.model, input_shape=input_shape, n_classes=n_classes, ann=True, residual=config.residual,
                           pool=config.pool)
    return build_model(
        config.model,
        input_shape=input_shape,
        n_classes=n_classes,
        encoder=config.encoder(),
        asnn=config.asnn,
        surrogate=config.surrogate,
        residual=config.residual,
        reset=config.reset,
        pool=config.pool,
    )


def model_inputs(
    model: torch.nn.Module,
    images: np.ndarray,
    device: torch.device,
    rng: np.random.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    sample_ids: np.ndarray | None = None,
) -> torch.Tensor:
    """Images ``(B, C, H, W)`` to what the model eats: encoded frames, or the images for an ANN.

    ``rng`` or ``sample_ids`` drive the rate encoder (see :meth:`EncoderSpec.encode`).
    """
    if model.is_spiking:
        images = model.encoder.encode(images, rng, sample_ids)
    return torch.from_numpy(np.ascontiguousarray(images)).to(device=device, dtype=dtype)


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    device: torch.device,
    batch_size: int = EVAL_BATCH,
    world: ddp.World = ddp.SINGLE,
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on images ``x`` with labels ``y``.

    The rate encoder draws each image's spikes from a stream seeded with ``(seed, index)``,
    exactly as the simulator's replay does, so both report the same accuracy.

    With a distributed ``world`` (every rank holding the same model) the batches are
    dealt out round-robin: rank r evaluates batches r, r + world_size, ... Each batch
    holds the same images, with the same global sample indices, as in one process, and
    the per-batch sums are added in batch order, so the result equals the single-process
    one: the same correct count, and the same loss up to the rounding of the batches'
    arithmetic (none was seen on this machine: docs/ddp.md).
    """
    model.eval()
    n_batches = math.ceil(len(y) / batch_size)
    loss_sums, hits = np.zeros(n_batches), np.zeros(n_batches)
    for b, (xb, yb) in enumerate(iterate_batches(x, y, batch_size, shuffle=False)):
        if b % world.world_size != world.rank:
            continue
        ids = np.arange(b * batch_size, b * batch_size + len(xb))
        logits = model(model_inputs(model, xb, device, sample_ids=ids))
        target = torch.from_numpy(yb).to(device)
        loss_sums[b] = F.cross_entropy(logits, target, reduction="sum").item()
        hits[b] = (logits.argmax(1) == target).sum().item()
    if world.distributed:
        # Each entry is non-zero on one rank only, so the sums are exact copies.
        loss_sums, hits = ddp.all_reduce_sum(world, loss_sums), ddp.all_reduce_sum(world, hits)
    loss_sum = 0.0
    for value in loss_sums:  # left to right, as a running sum (not numpy's pairwise sum)
        loss_sum += float(value)
    return loss_sum / len(y), int(hits.sum()) / len(y)


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> tuple[TrainConfig, torch.nn.Module]:
    """Rebuild a trained model from a run directory, in eval mode.

    Parameters
    ----------
    run_dir : path
        A directory written by :func:`train` (needs ``config.json`` and ``model.pt``).
    device : str or torch.device

    Returns
    -------
    config : TrainConfig
    model : torch.nn.Module
    """
    run_dir = Path(run_dir)
    if run_dir.is_file():
        raise TrainError(f"{run_dir} is a file, not a run directory (the folder written by asnn train --out)")
    if not run_dir.exists():
        raise TrainError(f"{run_dir}: no such run directory (the folder written by asnn train --out)")
    for name in ("config.json", "model.pt"):
        if not (run_dir / name).is_file():
            raise TrainError(f"{run_dir} is not a finished run: {name} is missing")
    meta = json.loads((run_dir / "config.json").read_text())
    config = TrainConfig.from_dict(meta["config"])
    model = make_model(config, tuple(meta["input_shape"]), meta["n_classes"])
    state = torch.load(run_dir / "model.pt", map_location=device, weights_only=True)
    model.load_state_dict(state)
    return config, model.to(device).eval()


def _save_torch(obj, path: Path) -> None:
    # torch.save names the zip's inner folder after the file it writes to, which here
    # would be the random temporary name: saving through a file object names it
    # "archive", so equal weights give byte-identical files (comparable by checksum).
    with atomic.atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)


def _write_metrics(rows: list[dict], path: Path) -> None:
    with atomic.atomic_path(path) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)


def _mixup(x: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    lam = float(rng.random())
    perm = rng.permutation(len(x))
    return (lam * x + (1 - lam) * x[perm]).astype(x.dtype), y[perm], lam


def train(
    config: TrainConfig,
    out: str | Path,
    *,
    device: str = "auto",
    resume: bool = False,
    epochs: int | None = None,
    force: bool = False,
    progress: bool = True,
    on_epoch: Callable[[dict], None] | None = None,
    dataset: Dataset | None = None,
    world: ddp.World = ddp.SINGLE,
) -> dict:
    """Train a model and write its run directory.

    Parameters
    ----------
    config : TrainConfig
        What to train. With ``resume`` it may be None-equivalent: the stored config is
        used, and a given config must agree with it.
    out : path
        Run directory.
    device : {"auto", "cpu", "cuda"}
    resume : bool
        Continue from ``out/checkpoint.pt``.
    epochs : int, optional
        Only with ``resume``: train to this many epochs in all, at least as many as the run
        was set to. More extends a finished or interrupted run: ``config.json`` takes the
        new number, ``model.pt`` and ``summary.json`` are removed until the run finishes
        again (until then it is an interrupted run of ``epochs`` epochs, resumable as any
        other), and the remaining epochs follow the cosine schedule of an ``epochs``-epoch
        run from the epoch reached (the learning rate rises again from where the shorter
        schedule had brought it; extending a 1-epoch run to 2 trains exactly as 2 epochs
        from the start). Mixup, if on, is off for the last 27% of the new total. An
        ``epochs`` in ``config`` does the same.
    force : bool
        Overwrite the run files in an existing ``out``.
    progress : bool
        Show progress (a bar on a terminal, plain lines otherwise) and one line per epoch.
    on_epoch : callable, optional
        Called with each epoch's metrics row after the checkpoint is written (for live
        plots; raising from it stops training with the checkpoint intact). In a
        distributed run it is called on every rank, with the same metrics.
    dataset : Dataset, optional
        Already-loaded data (saves reloading in notebooks); must match ``config``.
    world : ddp.World, optional
        This process's place in a data-parallel job, e.g.
        ``ddp.world_from_env()`` under torchrun; every process of the job calls
        :func:`train` with the same arguments. The default is one process on its own,
        which trains exactly as without this argument. See docs/ddp.md.

    Returns
    -------
    dict
        The contents of ``summary.json``.

    A run that fails before its first epoch is saved (missing data, Ctrl-C) leaves no
    folder behind if it created ``out``; one with a checkpoint keeps it for ``resume``.
    """
    out = Path(out)
    if epochs is not None and not resume:
        raise TrainError("epochs= is for extending a run with resume=True; a new run takes its epochs from its config")
    allocator.keep_freed_memory()  # training reallocates the same tensors every step
    request = (config, epochs)
    if not world.distributed:
        with run_folder.run_dir_held(out):
            return _train(request, out, device, resume, force, progress, on_epoch, dataset, ddp.SINGLE)
    dev = resolve_device(device)
    try:
        with ddp.process_group(world, dev) as (world, dev):
            # Rank 0 alone creates and writes the run directory, so it alone locks and cleans it.
            with run_folder.run_dir_held(out) if world.is_main else nullcontext():
                return _train(request, out, dev, resume, force, progress and world.is_main, on_epoch, dataset, world)
    except ddp.DistributedError as e:  # no GPU for this LOCAL_RANK, a group already running
        raise TrainError(str(e)) from None


def _setup(request, out: Path, device, resume: bool, force: bool, dataset, world: ddp.World):
    """Check the request (a config and the epochs to extend to), prepare ``out`` (rank 0), read a stored config, load the data."""
    config, epochs = request
    if world.is_main:
        run_folder.prepare_run_dir(out, resume, force)
    if resume:
        meta = json.loads((out / "config.json").read_text())
        config = run_folder.resumed_config(TrainConfig.from_dict(meta["config"]), config, epochs)
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    if config.batch_size % world.world_size:
        raise TrainError(
            f"--batch-size {config.batch_size} is not divisible by the {world.world_size} processes (WORLD_SIZE); "
            "the global batch is split evenly over them"
        )
    if dataset is None:
        try:
            dataset = load_dataset(config.dataset, config.data_dir, limit=config.limit)
        except ValueError as e:
            raise TrainError(str(e)) from None
    return config, dev, dataset


def _on_every_rank(world: ddp.World, step: Callable[[], tuple]) -> tuple:
    """Run ``step`` on every rank; if it fails on any rank, it fails on all of them.

    Without this, a rank that fails alone (its data folder is missing) would leave the
    others waiting in their next collective. In one process ``step`` just runs. The
    lowest failing rank's message is raised everywhere: rank 0 raises its own exception
    when it failed (so it is reported as usual), every other rank a TrainError.
    """
    if not world.distributed:
        return step()
    result, error = None, None
    try:
        result = step()
    except (ValueError, OSError) as e:  # what the command reports as a one-line error
        error = e
    failed = ddp.first_error(world, None if error is None else _one_line(error))
    if failed is None:
        return result
    rank, message = failed
    if world.is_main and rank == 0:
        raise error
    raise TrainError(message if rank == 0 else f"rank {rank}: {message}") from None


def _one_line(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _train(request, out: Path, device, resume, force, progress, on_epoch, dataset, world: ddp.World) -> dict:
    config, dev, dataset = _on_every_rank(world, lambda: _setup(request, out, device, resume, force, dataset, world))

    torch.manual_seed(config.seed)
    net = make_model(config, dataset.input_shape, dataset.n_classes).to(dev)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    rows, start_epoch = _restore_or_begin(net, optimizer, scheduler, out, dev, config, dataset, resume, world)
    # The model that trains: DDP averages the gradients over the ranks in backward (and,
    # by default, hands rank 0's BatchNorm running statistics to every rank before each
    # step). `net`, the same parameters unwrapped, is what is evaluated and saved, so the
    # files hold plain state_dict keys.
    model = net
    if world.distributed:
        model = DistributedDataParallel(net, device_ids=[dev.index] if dev.type == "cuda" else None)

    n_params = sum(p.numel() for p in net.parameters())
    batches_per_epoch = _batches_per_epoch(len(dataset.y_train), config.batch_size, world)
    # A bar on a terminal; in a log file only the epoch lines below (and a line every 30 s).
    bar = make_progress(
        config.epochs * batches_per_epoch,
        f"train {'ann' if config.ann else config.encoding}",
        "batch",
        enabled=progress,
        initial=start_epoch * batches_per_epoch,
        summary=False,
    )
    try:
        for epoch in range(start_epoch, config.epochs):
            rows.append(_train_epoch(model, config, dataset, dev, optimizer, epoch, bar, world))
            scheduler.step()
            if world.is_main:
                _write_metrics(rows, out / "metrics.csv")
                _save_torch({"model": net.state_dict(), "optimizer": optimizer.state_dict(),
                             "scheduler": scheduler.state_dict(), "epoch": epoch + 1, "metrics": rows}, out / "checkpoint.pt")
            # The epoch counts as finished on every rank once its checkpoint exists, so an
            # on_epoch that stops the run (on any rank) leaves a checkpoint to resume.
            ddp.barrier(world)
            r = rows[-1]
            if progress:
                bar.write(
                    f"epoch {r['epoch']:>3}/{config.epochs}  loss {r['train_loss']:.4f}  "
                    f"train acc {r['train_accuracy']:.4f}  test acc {r['test_accuracy']:.4f}  ({r['seconds']:.1f} s)"
                )
            if on_epoch is not None:
                on_epoch(dict(r))
    finally:
        bar.close()

    summary = _summary(rows, config, dev, n_params, dataset, world)
    if world.is_main:
        _save_torch(net.state_dict(), out / "model.pt")
        atomic.write_json(out / "summary.json", summary)
    # Every rank returns once the run directory is complete (a script may read it next).
    ddp.barrier(world)
    return summary


def _restore_or_begin(net, optimizer, scheduler, out: Path, dev, config, dataset, resume: bool, world) -> tuple[list[dict], int]:
    """Resume from ``checkpoint.pt`` (metrics so far, next epoch) or start: ``config.json`` written, ``([], 0)``."""
    rows: list[dict] = []
    start_epoch = 0
    if resume:
        # Every rank loads the checkpoint, so the optimizer states agree too.
        ckpt = torch.load(out / "checkpoint.pt", map_location=dev, weights_only=True)
        net.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        rows = list(ckpt["metrics"])
        start_epoch = int(ckpt["epoch"])
        if scheduler.T_max != config.epochs:  # extended: the checkpoint's schedule ends too early
            _stretch_schedule(scheduler, optimizer, config.epochs, start_epoch)
            if world.is_main:
                run_folder.reopen_run(out, config)
    elif world.is_main:
        atomic.write_json(out / "config.json", run_folder.run_meta(config, dataset))
    return rows, start_epoch


def _stretch_schedule(scheduler, optimizer, epochs: int, done: int) -> None:
    """Put a cosine schedule on an ``epochs``-epoch horizon, ``done`` epochs in.

    The learning rate becomes the closed form of the longer schedule at ``done``; the
    scheduler's own step (a ratio of successive cosines) then carries on along it. Loading
    the old state and changing only ``T_max`` would not do: a finished schedule stands at
    ``eta_min`` (0), and the ratio form would keep it there.
    """
    scheduler.T_max = epochs
    for group, base in zip(optimizer.param_groups, scheduler.base_lrs):
        group["lr"] = scheduler.eta_min + (base - scheduler.eta_min) * (1 + math.cos(math.pi * done / epochs)) / 2
    scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]


def _summary(rows: list[dict], config, dev, n_params: int, dataset, world) -> dict:
    """What ``summary.json`` says about a finished run."""
    return {
        "test_accuracy": rows[-1]["test_accuracy"],
        "test_loss": rows[-1]["test_loss"],
        "train_accuracy": rows[-1]["train_accuracy"],
        "train_seconds": round(sum(r["seconds"] for r in rows), 3),
        "device": str(dev) if dev.type == "cpu" else f"{dev} ({torch.cuda.get_device_name(dev)})",
        "epochs": config.epochs,
        "n_params": n_params,
        "n_train": int(len(dataset.y_train)),
        "n_test": int(len(dataset.y_test)),
        "world_size": world.world_size,
        "backend": world.backend,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }


def _batches_per_epoch(n_train: int, batch_size: int, world: ddp.World) -> int:
    """Optimizer steps per epoch (on every rank: the shards are equally long)."""
    return math.ceil(math.ceil(n_train / world.world_size) / (batch_size // world.world_size))


def _shard(n_train: int, world: ddp.World, seed: int, epoch: int) -> np.ndarray:
    """This rank's training indices for ``epoch``, in the order to visit them.

    torch's ``DistributedSampler`` shuffles all indices with ``(seed + epoch)`` (the same
    order on every rank), pads them by repeating a few so that every rank gets the same
    number (at most ``world_size - 1`` repeats per epoch), and deals them out
    round-robin: disjoint shards of equal length, so all ranks take the same number of
    steps (a rank with one step more would wait forever for the others' gradients).
    """
    sampler = DistributedSampler(range(n_train), num_replicas=world.world_size, rank=world.rank, shuffle=True,
                                 seed=seed)
    sampler.set_epoch(epoch)
    return np.fromiter(iter(sampler), dtype=np.int64, count=len(sampler))


def _shard_batches(x: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int) -> Iterator[tuple]:
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        yield x[idx], y[idx]


def _epoch_batches(config: TrainConfig, dataset: Dataset, epoch: int, world: ddp.World):
    """This rank's mini-batches for ``epoch`` and the generator of its other random draws.

    One process: the ``(seed, epoch)`` generator shuffles, then draws augmentation,
    mixup and rate codes (unchanged since before distributed training). Several: the
    sampler shuffles and shards, and each rank draws the rest from ``(seed, epoch, rank)``.
    """
    if not world.distributed:
        rng = np.random.default_rng([config.seed, epoch])
        return iterate_batches(dataset.x_train, dataset.y_train, config.batch_size, shuffle=True, rng=rng), rng
    order = _shard(len(dataset.y_train), world, config.seed, epoch)
    rng = np.random.default_rng([config.seed, epoch, world.rank])
    return _shard_batches(dataset.x_train, dataset.y_train, order, config.batch_size // world.world_size), rng


def _diverged(epoch: int, loss: float) -> TrainError:
    return TrainError(f"training diverged at epoch {epoch + 1} (loss is {loss}); try a smaller --lr")


def _train_epoch(model, config: TrainConfig, dataset: Dataset, dev, optimizer, epoch: int, bar,
                 world: ddp.World = ddp.SINGLE) -> dict:
    """One pass over the training set, then a test evaluation; returns the metrics row.

    ``model`` is the plain model, or its ``DistributedDataParallel`` wrapper in a
    distributed ``world``; the row's sums are then over all ranks (its ``seconds`` are
    this rank's).
    """
    t0 = time.perf_counter()
    net = model.module if isinstance(model, DistributedDataParallel) else model
    batches, rng = _epoch_batches(config, dataset, epoch, world)
    mix = config.mixup and epoch < math.floor(MIXUP_OFF_FRACTION * config.epochs)
    model.train()
    loss_sum, correct, seen = 0.0, 0.0, 0
    for xb, yb in batches:
        if config.augment:
            xb = augment_batch(xb, rng)
        target = torch.from_numpy(yb).to(dev)
        if mix:
            xb, yb_b, lam = _mixup(xb, yb, rng)
            target_b = torch.from_numpy(yb_b).to(dev)
        logits = model(model_inputs(net, xb, dev, rng))
        if mix:
            loss = lam * F.cross_entropy(logits, target) + (1 - lam) * F.cross_entropy(logits, target_b)
            hits = lam * (logits.argmax(1) == target).sum() + (1 - lam) * (logits.argmax(1) == target_b).sum()
        else:
            loss = F.cross_entropy(logits, target)
            hits = (logits.argmax(1) == target).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        # Distributed: checked below on the summed loss instead, so that every rank stops
        # at the same point (one rank stopping alone would leave the others waiting).
        if not world.distributed and not math.isfinite(loss.item()):
            raise _diverged(epoch, loss.item())
        loss_sum += loss.item() * len(yb)
        correct += float(hits)
        seen += len(yb)
        bar.update(1)
        bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
    if world.distributed:
        loss_sum, correct, seen = ddp.all_reduce_sum(world, [loss_sum, correct, seen]).tolist()
        if not math.isfinite(loss_sum):
            raise _diverged(epoch, loss_sum / seen)
        # The last step updated each rank's BatchNorm statistics with its own batch: give
        # every rank rank 0's (the ones model.pt holds), so that all evaluate one model.
        ddp.copy_from_rank0(world, net.buffers())
    lr = optimizer.param_groups[0]["lr"]
    test_loss, test_acc = evaluate(net, dataset.x_test, dataset.y_test, dev, world=world)
    return {
        "epoch": epoch + 1,
        "lr": lr,
        "train_loss": loss_sum / seen,
        "train_accuracy": correct / seen,
        "test_loss": test_loss,
        "test_accuracy": test_acc,
        "seconds": time.perf_counter() - t0,
    }
