"""Replays and independent jobs on a Dask cluster: ``--workers N`` or ``--scheduler ADDRESS``.

Dask (``dask.distributed``) does the scheduling, the data movement and the recovery
from lost workers; this module only cuts the work into shards and merges the answers:

* :func:`connect` starts a local cluster of ``N`` worker processes (each with
  ``cores // N`` threads, :func:`asnn_sim.util.threads.worker_environment`) or joins a
  running scheduler (``dask scheduler`` + ``dask worker``, or ``dask-jobqueue`` on SLURM).
* :func:`replay_sharded` replays contiguous ranges of samples as separate tasks
  (:func:`asnn_sim.sim.shards.replay_range`) and merges their int64 counts
  (:func:`asnn_sim.sim.replay.assemble`): the tables equal a single-process replay's
  bit for bit. A worker that dies mid-shard has its shard re-run elsewhere by the
  scheduler; each shard's result is taken once, and the re-runs are reported.
* :func:`map_jobs` runs independent jobs (``asnn compare``'s train / export / replay per
  model) and hands their results back in order.

Workers read files by path (a ``.npy`` memory map, a dataset folder), so on a multi-machine
cluster those paths must be visible to every worker (a shared file system). Dask is an
optional dependency: ``pip install 'asnn-sim[cluster]'``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from asnn_sim.graph.ir import Graph
from asnn_sim.util.progress import progress as make_progress
from asnn_sim.sim.engine import Conventions
from asnn_sim.sim.replay import ReplayFacts, SimResult, assemble
from asnn_sim.sim.recording import RecordSpec
from asnn_sim.sim.shards import (ReplayInput, ShardCounts, binary_steps, check_replay_request, replay_range,
                                 split_samples, step_kinds)
from asnn_sim.util.threads import cpu_count, numba_threads_from_environment, worker_environment

INSTALL_HINT = "pip install 'asnn-sim[cluster]'"
#: Shards per worker: enough to balance uneven workers and keep a lost shard small.
SHARDS_PER_WORKER = 8
#: How long to wait for a running scheduler (--scheduler) to answer.
CONNECT_TIMEOUT = "15s"


class ClusterError(ValueError):
    """A cluster that cannot be started or reached, or a request it cannot serve (one line)."""


@dataclass(frozen=True)
class ClusterSpec:
    """Where jobs run: ``workers`` local processes, or the cluster at ``scheduler``.

    Attributes
    ----------
    workers : int, optional
        Start a local cluster of this many worker processes (at most the cores).
    scheduler : str, optional
        Address of a running Dask scheduler, e.g. ``tcp://10.0.0.5:8786``.
    """

    workers: int | None = None
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.workers is not None and self.scheduler is not None:
            raise ClusterError("--workers starts a local cluster and --scheduler joins a running one: give one of them")
        if self.workers is not None:
            cores = cpu_count()
            if self.workers < 1:
                raise ClusterError(f"--workers must be >= 1; got {self.workers}")
            if self.workers > cores:
                raise ClusterError(
                    f"--workers {self.workers} exceeds the {cores} CPU cores here: each worker needs a core "
                    f"(more would share them and run slower); use --workers {cores} or a cluster (--scheduler)")

    @property
    def active(self) -> bool:
        return self.workers is not None or self.scheduler is not None


def _dask():
    try:
        import distributed
    except ImportError:
        raise ClusterError(f"--workers / --scheduler need Dask: {INSTALL_HINT}") from None
    return distributed


@contextmanager
def connect(spec: ClusterSpec) -> Iterator[Any]:
    """A ``distributed.Client`` for ``spec``; a local cluster is shut down on exit."""
    distributed = _dask()
    if spec.scheduler is not None:
        try:
            client = distributed.Client(spec.scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as e:
            raise ClusterError(f"--scheduler {spec.scheduler}: no Dask scheduler answered ({_first_line(e)})") from None
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            client.close()
            raise ClusterError(f"--scheduler {spec.scheduler}: the scheduler has no workers (waited 60 s)") from None
        try:
            with _lost_workers_in_one_line():
                yield client
        finally:
            client.close()
        return
    try:
        cluster = distributed.LocalCluster(
            n_workers=spec.workers,
            threads_per_worker=1,  # one task per worker; its numeric threads come from env
            processes=True,  # torch, Numba and the GIL: a process per worker
            env=worker_environment(spec.workers),
            dashboard_address=":0",  # no fixed port: two clusters on one machine must not clash
            silence_logs=logging.ERROR,
        )
    except (RuntimeError, TimeoutError, OSError) as e:  # "Nanny failed to start": a worker did not come up in time
        raise ClusterError(f"--workers {spec.workers}: the local Dask cluster did not start ({_first_line(e)}); "
                           "is the machine overloaded?") from None
    client = distributed.Client(cluster)
    try:
        with _lost_workers_in_one_line():
            yield client
    finally:
        client.close()
        cluster.close()


@contextmanager
def _lost_workers_in_one_line() -> Iterator[None]:
    """Dask's ways of saying the workers died (a task killed them, or they were killed), as a ClusterError.

    A task's own error (bad input on a worker) passes through unchanged.
    """
    import concurrent.futures

    distributed = _dask()
    lost = (distributed.KilledWorker, concurrent.futures.CancelledError, distributed.comm.CommClosedError)
    try:
        yield
    except lost as e:
        raise ClusterError(f"the Dask cluster lost its workers before the work was done ({type(e).__name__}: "
                           f"{_first_line(e)}); nothing was written, run it again") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def worker_count(client) -> int:
    """Workers the scheduler knows now."""
    return len(client.scheduler_info(n_workers=-1)["workers"])


# ------------------------------------------------------------------ sharded replay


@dataclass
class ShardReport:
    """How a sharded replay ran (``summary["execution"]``).

    Attributes
    ----------
    workers : int
        Workers when the replay started.
    shards : list of (lo, hi)
        The sample ranges, one task each.
    reruns : list of (lo, hi)
        Ranges that started more than once: their worker was lost and the scheduler ran
        them again elsewhere. Each range's result was still taken exactly once.
    """

    workers: int
    shards: list[tuple[int, int]]
    reruns: list[tuple[int, int]] = field(default_factory=list)

    def describe(self) -> str:
        line = f"replayed in {len(self.shards)} shards on {self.workers} Dask workers"
        if not self.reruns:
            return line + "; no shard had to be re-run"
        ranges = ", ".join(f"{lo}-{hi - 1}" for lo, hi in self.reruns)
        return (f"{line}; {len(self.reruns)} shard(s) re-ran after a worker was lost (samples {ranges}); "
                "every sample was counted exactly once")

    def to_dict(self) -> dict:
        return {"engine": "dask", "workers": self.workers, "shards": len(self.shards),
                "reruns": [list(r) for r in self.reruns]}


def _replay_shard(graph: Graph, stream: ReplayInput, lo: int, hi: int, settings: dict, topic: str) -> ShardCounts:
    """One shard on a worker; logs its start so the client can tell re-runs apart."""
    from distributed import get_worker

    worker = get_worker()
    worker.log_event(topic, {"lo": lo, "hi": hi, "worker": worker.address})
    numba_threads_from_environment()
    return replay_range(graph, stream, lo, hi, **settings)


def replay_sharded(
    client,
    graph: Graph,
    stream: ReplayInput,
    labels: np.ndarray | None = None,
    *,
    precision: str = "float64",
    conventions: Conventions | None = None,
    batch_size: int = 128,
    shards: int | None = None,
    progress: bool = True,
    on_start: Callable[[str], None] | None = None,
    record: RecordSpec | None = None,
) -> tuple[SimResult, ShardReport]:
    """Replay ``stream`` through ``graph`` in shards on ``client``'s workers.

    Parameters
    ----------
    client : distributed.Client
    graph : Graph
    stream : ReplayInput
        Images for the graph's encoder or supplied frames; a memory map travels by file name.
    labels : numpy.ndarray, optional
    precision, conventions, batch_size :
        As for :func:`asnn_sim.sim.simulate`.
    shards : int, optional
        Number of sample ranges (default: 8 per worker, none smaller than a batch, and at
        least one per worker).
    progress : bool
        Samples done across all workers, as shards finish.
    on_start : callable, optional
        Called with the event topic once the shards are submitted (the fault test uses it
        to watch shards start).
    record : RecordSpec, optional
        Each shard records its part of the recorded samples; they arrive in sample order.

    Returns
    -------
    result : SimResult
        Equal to the single-process replay's tables (``summary`` adds ``execution``).
    report : ShardReport
    """
    n = stream.n
    check_replay_request(n, labels, graph.n_classes)
    if record is not None:
        record.check_size(graph, n, precision)
    conventions = conventions or Conventions()
    workers = worker_count(client)
    if shards is None:
        # Up to 8 per worker, none smaller than a batch, but at least one per worker.
        shards = min(n, max(workers, min(SHARDS_PER_WORKER * workers, -(-n // batch_size))))
    ranges = split_samples(n, shards)
    start = time.perf_counter()
    token = uuid.uuid4().hex[:12]
    graph_on_workers = client.scatter(graph, broadcast=True, hash=False)
    if stream.layout is not None and stream.frame_kinds is None:
        stream = _with_frame_kinds(client, stream, ranges, batch_size, token)
    topic = f"asnn-replay-{token}"
    settings = dict(precision=precision, conventions=conventions, batch_size=batch_size, record=record)
    futures = {
        client.submit(_replay_shard, graph_on_workers, stream.part(lo, hi), lo, hi, settings, topic,
                      key=f"asnn-shard-{token}-{i}", pure=False): (lo, hi)
        for i, (lo, hi) in enumerate(ranges)
    }
    if on_start is not None:
        on_start(topic)
    results: list[ShardCounts] = []
    bar = make_progress(n, f"simulate ({workers} workers)", "sample", enabled=progress)
    distributed = _dask()
    try:
        for future in distributed.as_completed(list(futures)):
            shard = future.result()
            results.append(shard)
            future.release()  # the worker may forget it now: the result is here
            bar.update(shard.hi - shard.lo)
    finally:
        bar.close()
    starts = Counter((e["lo"], e["hi"]) for _, e in client.get_events(topic))
    report = ShardReport(workers, ranges, sorted(r for r, k in starts.items() if k > 1))
    result = assemble(ReplayFacts(graph, precision, conventions), results, labels, time.perf_counter() - start)
    result.summary["execution"] = report.to_dict()
    return result, report


def _with_frame_kinds(client, stream: ReplayInput, ranges, batch_size: int, token: str) -> ReplayInput:
    """Binary or analog per step over the whole dataset, each worker reading its ranges."""
    from dataclasses import replace

    parts = [client.submit(binary_steps, stream.part(lo, hi), lo, hi, batch_size,
                           key=f"asnn-kinds-{token}-{i}", pure=False) for i, (lo, hi) in enumerate(ranges)]
    return replace(stream, frame_kinds=step_kinds(np.logical_and.reduce(client.gather(parts))))


# ------------------------------------------------------------------ independent jobs


def map_jobs(client, function: Callable, jobs: list[tuple], *, names: list[str] | None = None,
             log: Callable[[str], None] = print, lines_of: Callable[[Any], list[str]] | None = None) -> list:
    """``[function(*job) for job in jobs]`` on the workers, in the order of ``jobs``.

    Each finished job is logged with its name as it comes in, followed by
    ``lines_of(result)`` when given. A job that raises stops the whole call with its
    error (the others are cancelled).
    """
    distributed = _dask()
    names = names or [str(i) for i in range(len(jobs))]
    token = uuid.uuid4().hex[:12]
    futures = [client.submit(function, *job, key=f"asnn-job-{token}-{i}", pure=False) for i, job in enumerate(jobs)]
    index = {f.key: i for i, f in enumerate(futures)}
    out: list = [None] * len(jobs)
    done = 0
    try:
        for future in distributed.as_completed(futures):
            i = index[future.key]
            out[i] = future.result()
            done += 1
            log(f"[{done}/{len(jobs)}] {names[i]} done")
            for line in lines_of(out[i]) if lines_of else ():
                log(line)
    except BaseException:
        client.cancel(futures)
        raise
    return out
