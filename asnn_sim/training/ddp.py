"""The torch.distributed process group of a data-parallel training run (started by torchrun).

torchrun starts one process per device and tells each one who it is through environment
variables: ``WORLD_SIZE`` (processes in the job), ``RANK`` (this process, 0 to
``WORLD_SIZE - 1``), ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` (the same, counted on this
node), and ``MASTER_ADDR`` / ``MASTER_PORT`` (where the processes meet). This module:

* reads those variables into a :class:`World` (:func:`world_from_env`, a pure function);
* starts and stops the process group (:func:`process_group`): gloo when training on the
  CPU, NCCL on CUDA with one GPU per process, ``cuda:LOCAL_RANK``;
* picks each process's torch thread count (:func:`rank_threads`), so that several
  processes on one machine do not oversubscribe its cores;
* wraps the few collectives training needs: summing metric sums
  (:func:`all_reduce_sum`), a :func:`barrier`, agreeing on the first error
  (:func:`first_error`) and copying rank 0's tensors to every rank
  (:func:`copy_from_rank0`).

Outside torchrun (no ``WORLD_SIZE``, or ``WORLD_SIZE=1``) :func:`world_from_env` returns
:data:`SINGLE`: no group is started and every collective returns its input, so a
single-process run computes exactly what it computed before this module existed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.distributed as dist

from asnn_sim.util import threads

#: The variables torchrun sets for every process (besides MASTER_ADDR and MASTER_PORT).
ENV_VARS = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE")
BACKENDS = {"cpu": "gloo", "cuda": "nccl"}


class DistributedError(ValueError):
    """A problem with the distributed launch (environment, GPUs); the message is one line."""


@dataclass(frozen=True)
class World:
    """Where this process stands in a data-parallel job.

    Attributes
    ----------
    rank : int
        This process, ``0 .. world_size - 1``; rank 0 writes the run files and reports.
    world_size : int
        Processes in the job (all nodes).
    local_rank : int
        This process on its node; picks the GPU ``cuda:local_rank``.
    local_world_size : int
        Processes on this node; they share its CPU cores.
    backend : str or None
        ``"gloo"`` or ``"nccl"`` once the process group is started, else None.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    backend: str | None = None

    @property
    def distributed(self) -> bool:
        """More than one process: gradients, metrics and files need coordinating."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0, the process that writes files and prints."""
        return self.rank == 0


#: One process on its own: what training is without torchrun.
SINGLE = World()


def world_from_env(env: Mapping[str, str] | None = None) -> World:
    """The :class:`World` that torchrun's environment variables describe.

    Parameters
    ----------
    env : mapping, optional
        The environment (default ``os.environ``).

    Returns
    -------
    World
        :data:`SINGLE` when ``WORLD_SIZE`` is unset or 1 (a launch of one process trains
        exactly as a plain one); else the four numbers, backend still None.

    Raises
    ------
    DistributedError
        ``WORLD_SIZE`` > 1 with a variable missing, not an integer, or out of range.
    """
    env = os.environ if env is None else env
    if env.get("WORLD_SIZE", "1").strip() == "1":
        return SINGLE
    values = {}
    for name in ENV_VARS:
        text = env.get(name)
        if text is None:
            raise DistributedError(
                f"WORLD_SIZE is {env['WORLD_SIZE']} but {name} is not set; start the processes with torchrun, "
                f"which sets {', '.join(ENV_VARS)}"
            )
        try:
            values[name] = int(text)
        except ValueError:
            raise DistributedError(f"{name} must be an integer; got {text!r}") from None
    world = World(values["RANK"], values["WORLD_SIZE"], values["LOCAL_RANK"], values["LOCAL_WORLD_SIZE"])
    if world.world_size < 1:
        raise DistributedError(f"WORLD_SIZE must be >= 1; got {world.world_size}")
    if not 0 <= world.rank < world.world_size:
        raise DistributedError(f"RANK {world.rank} is outside 0..{world.world_size - 1} (WORLD_SIZE {world.world_size})")
    if not 1 <= world.local_world_size <= world.world_size:
        raise DistributedError(
            f"LOCAL_WORLD_SIZE {world.local_world_size} must be between 1 and WORLD_SIZE {world.world_size}"
        )
    if not 0 <= world.local_rank < world.local_world_size:
        raise DistributedError(
            f"LOCAL_RANK {world.local_rank} is outside 0..{world.local_world_size - 1} "
            f"(LOCAL_WORLD_SIZE {world.local_world_size})"
        )
    return world


def rank_threads(env: Mapping[str, str], cores: int, local_world_size: int) -> int | None:
    """The torch thread count for one of ``local_world_size`` processes sharing ``cores``.

    torchrun exports ``OMP_NUM_THREADS=1`` to its processes when the user has not set it
    (and it starts more than one per node), which leaves most cores idle on a machine
    with more cores than processes. A process cannot tell that ``1`` from a user's own
    ``OMP_NUM_THREADS=1``, so ``1`` is read as torchrun's default and replaced by an even
    share of the cores; any other value is the user's choice and kept.

    Parameters
    ----------
    env : mapping
        The environment (for ``OMP_NUM_THREADS``).
    cores : int
        CPU cores this process may run on.
    local_world_size : int
        Processes on this node.

    Returns
    -------
    int or None
        ``max(1, cores // local_world_size)``, or None to keep the user's
        ``OMP_NUM_THREADS``.
    """
    asked = env.get("OMP_NUM_THREADS", "").strip()
    if asked and asked != "1":
        return None
    return max(1, cores // max(1, local_world_size))


def backend_for(device: torch.device) -> str:
    """gloo for CPU tensors, NCCL for CUDA tensors."""
    if device.type not in BACKENDS:
        raise DistributedError(f"data-parallel training runs on {' or '.join(BACKENDS)}; got device {device}")
    return BACKENDS[device.type]


def start(world: World, device: torch.device, env: Mapping[str, str] | None = None) -> tuple[World, torch.device]:
    """Join the process group of ``world``; a no-op for a single process.

    Parameters
    ----------
    world : World
    device : torch.device
        The device asked for (``cpu`` or ``cuda``); on CUDA each process takes the GPU
        ``cuda:LOCAL_RANK``.
    env : mapping, optional
        The environment (for ``OMP_NUM_THREADS``; default ``os.environ``). The rendezvous
        itself reads ``MASTER_ADDR`` and ``MASTER_PORT`` from ``os.environ``.

    Returns
    -------
    world : World
        With ``backend`` set.
    device : torch.device
        This process's device.
    """
    if not world.distributed:
        return world, device
    if dist.is_initialized():
        raise DistributedError("a torch.distributed process group is already running in this process; "
                               "training starts (and stops) its own")
    backend = backend_for(device)
    if device.type == "cuda":
        gpus = torch.cuda.device_count()
        if world.local_rank >= gpus:
            raise DistributedError(
                f"LOCAL_RANK {world.local_rank} needs GPU cuda:{world.local_rank} but this node has {gpus}; "
                f"start at most {gpus} processes per node (--nproc-per-node)"
            )
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    # `--threads N` (asnn_sim.util.threads) is the user's explicit choice; else share the cores.
    count = None if threads.requested() is not None else rank_threads(
        os.environ if env is None else env, threads.cpu_count(), world.local_world_size)
    if count is not None:
        torch.set_num_threads(count)
    # device_id binds NCCL's communicator to this process's GPU at once (else it guesses
    # from the current device on first use); gloo takes none, so it is left out there.
    bind = {"device_id": device} if device.type == "cuda" else {}
    dist.init_process_group(backend, rank=world.rank, world_size=world.world_size, **bind)
    return replace(world, backend=backend), device


def stop(world: World) -> None:
    """Leave the process group (if one is running); safe to call more than once."""
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


@contextmanager
def process_group(world: World, device: torch.device) -> Iterator[tuple[World, torch.device]]:
    """:func:`start` on entry, :func:`stop` on exit, also when the block raises.

    Examples
    --------
    Outside torchrun the world is one process and the sums are its own values:

    >>> with process_group(world_from_env({}), torch.device("cpu")) as (world, device):
    ...     all_reduce_sum(world, [3.5, 2]).tolist()
    [3.5, 2.0]
    """
    world, device = start(world, device)
    try:
        yield world, device
    finally:
        stop(world)


def _comm_device(world: World) -> torch.device:
    # NCCL moves CUDA tensors only; gloo moves CPU tensors.
    return torch.device("cuda", world.local_rank) if world.backend == "nccl" else torch.device("cpu")


def all_reduce_sum(world: World, values: Iterable[float] | np.ndarray) -> np.ndarray:
    """The element-wise sum of ``values`` over all ranks, in float64, on every rank.

    A single process gets its own values back (as a float64 copy).
    """
    local = np.array(values, dtype=np.float64)
    if not world.distributed:
        return local
    t = torch.from_numpy(local).to(_comm_device(world))
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.cpu().numpy()


def barrier(world: World) -> None:
    """Wait until every rank gets here (nothing to wait for in a single process)."""
    if world.distributed:
        dist.barrier()


def first_error(world: World, message: str | None) -> tuple[int, str] | None:
    """Every rank says whether it failed; all learn the lowest failing rank and its message.

    Parameters
    ----------
    world : World
    message : str or None
        This rank's error message, None if it succeeded.

    Returns
    -------
    (rank, message) or None
        The same on every rank; None when no rank failed.
    """
    if not world.distributed:
        return None if message is None else (world.rank, message)
    messages: list[str | None] = [None] * world.world_size
    dist.all_gather_object(messages, message)
    return next(((rank, m) for rank, m in enumerate(messages) if m is not None), None)


def copy_from_rank0(world: World, tensors: Iterable[torch.Tensor]) -> None:
    """Overwrite ``tensors`` on every rank with rank 0's values, in place."""
    if not world.distributed:
        return
    for t in tensors:
        dist.broadcast(t, src=0)
