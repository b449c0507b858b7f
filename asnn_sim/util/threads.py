"""How many CPU threads torch and Numba use, and how their idle threads wait.

Both runtimes run their parallel loops on one OpenMP runtime (GNU libgomp on Linux).
Two things about it decide whether jobs can share a machine:

* **The wait policy.** After a parallel loop, libgomp's idle threads spin on a core for a
  while before they sleep, so the next loop starts without a wake-up. When two jobs (or
  Dask workers) each spin on every core, the spinning steals the cores the other job is
  computing on: two LeNet trainings side by side took 6x as long each as one alone
  (NOTES.md). :data:`WAIT_POLICY` is this package's default, set before torch or Numba
  loads the runtime (it reads the variable once, when it starts); a value the user
  exported wins.
* **The thread count.** ``--threads N`` (:func:`prepare`) sets torch's and Numba's
  counts (and the BLAS libraries'), so that jobs x threads can be kept within the cores.
  Dask workers started here get ``cores // workers`` each (:func:`worker_environment`).

A third fact: Numba's OpenMP layer sets the process-wide OpenMP count to its own
whenever a parallel kernel runs, so after a replay torch would compute with Numba's count
instead of the one it was given; training sums floats in an order that depends on the
thread count, so :func:`torch_threads_kept` undoes that side effect.

This module imports nothing heavy: torch and Numba are touched only when the caller
already imported them.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: The wait policy set for libgomp unless the environment already names one.
WAIT_POLICY = {"OMP_WAIT_POLICY": "passive"}
#: Variables that carry a thread count to torch (OpenMP), Numba and the BLAS libraries.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


_requested: int | None = None  # --threads of this process, once prepare() has seen it
_pools: dict = {}  # in_slices' thread pools, by size
_pool_lock = threading.Lock()


def requested() -> int | None:
    """The thread count this process was given with ``--threads`` (None: not given)."""
    return _requested


def cpu_count() -> int:
    """CPU cores this process may run on (its affinity mask, as a container or SLURM sets it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def in_slices(fn, n: int, threads: int) -> None:
    """Call ``fn(lo, hi, k)`` for ``min(threads, n)`` contiguous slices ``lo:hi`` tiling
    ``range(n)`` at once (``k``: the slice's number), on a process-wide pool of threads;
    one slice runs in the calling thread. For kernels that release the GIL and work
    sample by sample with a scratch space per slice. An exception in a slice is raised here."""
    k = max(1, min(threads, n))
    edges = [n * i // k for i in range(k + 1)]
    if k == 1:
        fn(0, n, 0)
        return
    with _pool_lock:
        if k not in _pools:
            from concurrent.futures import ThreadPoolExecutor

            _pools[k] = ThreadPoolExecutor(k, thread_name_prefix="asnn-slices")
        pool = _pools[k]
    for job in [pool.submit(fn, edges[i], edges[i + 1], i) for i in range(k)]:
        job.result()


def thread_environment(threads: int | None) -> dict[str, str]:
    """Environment variables for a process that should use ``threads`` threads (None: all cores)."""
    env = dict(WAIT_POLICY)
    if threads is not None:
        env.update({name: str(threads) for name in THREAD_VARIABLES})
    return env


def stock_environment() -> dict[str, str]:
    """This process's environment without the thread, wait-policy and allocator settings a user exported.

    Benchmarks start each contender with it, so that every one runs with its own
    defaults, as from a fresh shell, whatever the shell that started the benchmark set.
    """
    dropped = set(WAIT_POLICY) | set(THREAD_VARIABLES) | {"GOMP_SPINCOUNT"}
    return {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("MALLOC_")}


def prepare(threads: int | None = None) -> None:
    """Set the wait policy (unless exported) and, if given, the thread count of this process.

    Call it before torch or Numba is imported: the OpenMP runtime reads its variables
    when it loads. A thread count given here also reaches runtimes already loaded.

    Parameters
    ----------
    threads : int, optional
        Threads for torch and Numba each (``--threads``); None keeps their defaults
        (every core, or what ``OMP_NUM_THREADS`` / ``NUMBA_NUM_THREADS`` say).
    """
    if threads is not None and threads < 1:
        raise ValueError(f"--threads must be >= 1; got {threads}")
    global _requested
    for name, value in WAIT_POLICY.items():
        os.environ.setdefault(name, value)
    if threads is None:
        return
    _requested = threads
    os.environ.update({name: str(threads) for name in THREAD_VARIABLES})
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    numba = sys.modules.get("numba")
    if numba is not None:
        # Numba's pool was sized when it first ran a parallel kernel; it can use fewer.
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


def worker_environment(workers: int, cores: int | None = None) -> dict[str, str]:
    """Variables for each of ``workers`` processes sharing ``cores`` (default: this machine's).

    Each gets ``cores // workers`` threads (at least one), so workers x threads never
    exceed the cores when ``workers <= cores``. ``NUMBA_NUM_THREADS`` is left out: a Dask
    worker imports Numba before it applies these variables, and Numba refuses a count in
    the environment that differs from the one it started with (at its next compile);
    :func:`numba_threads_from_environment` sets Numba's count at run time instead.
    """
    cores = cpu_count() if cores is None else cores
    env = thread_environment(max(1, cores // workers))
    env.pop("NUMBA_NUM_THREADS", None)
    return env


def numba_threads_from_environment() -> None:
    """Run the calling thread's Numba kernels on ``OMP_NUM_THREADS`` threads, if set.

    For a Dask task: Numba's count is per calling thread, and a task runs on a thread of
    the worker's pool, so each task sets it (cheap) before its kernels run.
    """
    asked = os.environ.get("OMP_NUM_THREADS", "").strip()
    if asked.isdigit() and int(asked) > 0:
        import numba

        numba.set_num_threads(min(int(asked), numba.config.NUMBA_NUM_THREADS))


@contextmanager
def torch_threads_kept() -> Iterator[None]:
    """Leave torch's intra-op thread count as it was before the block.

    A no-op when torch has not been imported (a replay-only process never loads it).
    """
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
