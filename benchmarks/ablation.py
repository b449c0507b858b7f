"""What each simulator optimisation bought: the kernels before and after, on the same data.

Run ``python benchmarks/ablation.py`` (``--help`` for options). It loads the simulator
as it was before the performance work (``asnn_sim/sim/{kernels,engine}.py`` at git
revision ``--rev``, read with ``git show``; nothing in the repository is modified),
compiles it without Numba's disk cache, and times, interleaved, median of repeats:

1. end to end: the old and the current ``Simulator.run_batch`` over the benchmark
   workloads (and checks that both give bit-identical logits, counts and spikes);
2. the wide conv layer's scatter kernel through the intermediate steps of the work
   (frozen copies of the intermediate kernels are below):

   - ``old``: per tap, modulo/divide bounds logic and ``cur[base + co] += w[co]``
     (not vectorised by LLVM);
   - ``tables``: per-axis tap tables (no per-tap division or branch) and the weight row
     added through slices (vectorised);
   - ``runs``: events at the same pixel share the tap lookup;
   - ``current``: up to four events per pass over an output row (the shipped kernel);

3. the other kernels of the wide conv workload, old against current: input event
   listing (old: transposed copy of the frames + scan; current: plane scan + counting
   sort), neuron update (old: one branchy loop; current: two passes over 512-neuron
   chunks), pooling (old: per-event window arithmetic; current: tables and runs).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
from numba import njit, prange

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from asnn_sim.sim import Simulator  # noqa: E402
from asnn_sim.sim import kernels as K  # noqa: E402
from workloads import lenet, wide_conv  # noqa: E402

REV = "7ef340d"  # the commit that introduced the simulator; kernels/engine unchanged until this work

BINARY, GRADED, ANALOG = K.BINARY, K.GRADED, K.ANALOG


def load_old(rev: str):
    """The old kernels and engine modules, compiled from ``git show rev:path`` (no disk cache)."""
    def source(path):
        return subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True).stdout

    kernels = types.ModuleType("old_kernels")
    kernels.__file__ = "<old kernels>"
    sys.modules["old_kernels"] = kernels
    exec(compile(source("asnn_sim/sim/kernels.py").replace("cache=True", "cache=False"), f"{rev}:kernels.py", "exec"), kernels.__dict__)
    engine_src = source("asnn_sim/sim/engine.py").replace("from asnn_sim.sim import kernels as K", "")
    engine = types.ModuleType("old_engine")
    sys.modules["old_engine"] = engine  # dataclasses look their module up
    engine.__dict__["K"] = kernels
    exec(compile(engine_src, f"{rev}:engine.py", "exec"), engine.__dict__)
    return kernels, engine


# ---------------------------------------------------------------- frozen intermediate conv kernels


@njit(parallel=True)
def conv_tables(idx, cnt, val, event_class, c_in, width, y_count, y_row, y_out, x_count, x_row, x_out, wt, current, touched, acs):
    """Step "tables": tap tables + slice-based (vectorised) row add, one event and one tap at a time."""
    c_out = wt.shape[1]
    for b in prange(cnt.shape[0]):
        cur = current[b]
        mark = touched[b]
        n_ac = 0
        for e in range(cnt[b]):
            flat = idx[b, e]
            pos = flat // c_in
            ci = flat - pos * c_in
            y = pos // width
            x = pos - y * width
            v = val[b, e]
            for a in range(y_count[y]):
                for c in range(x_count[x]):
                    r = y_row[y, a] + x_row[x, c] + ci
                    o = y_out[y, a] + x_out[x, c]
                    dst = cur[o]
                    w = wt[r]
                    if event_class == BINARY:
                        for co in range(c_out):
                            dst[co] += w[co]
                    else:
                        for co in range(c_out):
                            dst[co] += v * w[co]
                    mark[o] = 1
                    n_ac += c_out
        acs[b] += n_ac
        for o in range(mark.shape[0]):
            mark[o] = 0


@njit(parallel=True)
def conv_runs(idx, cnt, val, event_class, c_in, width, y_count, y_row, y_out, x_count, x_row, x_out, wt, current, touched, acs):
    """Step "runs": events at one pixel share the tap lookup; one event per pass over a row."""
    c_out = wt.shape[1]
    for b in prange(cnt.shape[0]):
        cur = current[b]
        mark = touched[b]
        ib = idx[b]
        vb = val[b]
        n = cnt[b]
        n_ac = 0
        e = 0
        while e < n:
            pos = ib[e] // c_in
            lo = pos * c_in
            end = e + 1
            while end < n and ib[end] >= lo and ib[end] < lo + c_in:
                end += 1
            y = pos // width
            x = pos - y * width
            for a in range(y_count[y]):
                for c in range(x_count[x]):
                    r = y_row[y, a] + x_row[x, c] - lo
                    o = y_out[y, a] + x_out[x, c]
                    dst = cur[o]
                    mark[o] = 1
                    for k in range(e, end):
                        w = wt[r + ib[k]]
                        if event_class == BINARY:
                            for co in range(c_out):
                                dst[co] += w[co]
                        else:
                            v = vb[k]
                            for co in range(c_out):
                                dst[co] += v * w[co]
            n_ac += (end - e) * y_count[y] * x_count[x] * c_out
            e = end
        acs[b] += n_ac
        for o in range(mark.shape[0]):
            mark[o] = 0


# ---------------------------------------------------------------- timing helpers


def interleaved(fns: dict, repeats: int) -> dict:
    for f in fns.values():
        f()
    out = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            out[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in out.items()}


def end_to_end(old_engine, workloads, precisions, repeats, log) -> list[str]:
    lines = ["| workload | precision | before | after | speed-up | outputs identical |", "|---|---|---:|---:|---:|---|"]
    for wl, bs in workloads:
        for p in precisions:
            old = old_engine.Simulator(wl.graph, p, batch_size=bs)
            new = Simulator(wl.graph, p, batch_size=bs)
            frames = np.ascontiguousarray(wl.frames, dtype=new.dtype)
            parts = [slice(lo, min(wl.n_samples, lo + bs)) for lo in range(0, wl.n_samples, bs)]
            same = True
            for s in parts:
                a, b = old.run_batch(frames[:, s], record=True), new.run_batch(frames[:, s], record=True)
                same &= np.array_equal(a.logits, b.logits) and np.array_equal(a.counts, b.counts) and np.array_equal(a.step_logits, b.step_logits)
                same &= all(np.array_equal(a.spikes[k], b.spikes[k]) for k in a.spikes)
            t = interleaved({"old": lambda: [old.run_batch(frames[:, s]) for s in parts],
                             "new": lambda: [new.run_batch(frames[:, s]) for s in parts]}, repeats)
            n = wl.n_samples
            lines.append(f"| {wl.name} | {p} | {t['old'] / n * 1e6:.1f} us/sample | {t['new'] / n * 1e6:.1f} us/sample | "
                         f"{t['old'] / t['new']:.2f}x | {'yes' if same else 'NO'} |")
            log(lines[-1])
    return lines


def kernel_steps(old_k, wl, precisions, repeats, log) -> list[str]:
    """The wide conv workload's kernels at t=0, batch = all samples."""
    conv = wl.graph.node("conv")
    c, h, w = wl.graph.shapes["input"]
    B, n = wl.n_samples, c * h * w
    lines = ["| kernel | step | precision | time per sample-step | speed-up vs old | GAC/s (conv) |", "|---|---|---|---:|---:|---:|"]
    for p in precisions:
        dt = np.dtype(p).type
        frame = np.ascontiguousarray(wl.frames[0], dtype=dt)
        idx = np.zeros((B, n), np.int32)
        cnt = np.zeros(B, np.int64)
        val = np.zeros((B, n), dt)
        scratch = (np.zeros((B, n), np.int32), np.zeros((B, n), dt), np.zeros((B, h * w + 1), np.int64))
        K.frame_to_events(frame, idx, cnt, val, *scratch)
        # --- input listing
        o_idx, o_cnt, o_val = np.zeros_like(idx), np.zeros_like(cnt), np.zeros_like(val)

        def old_input():
            hwc = np.ascontiguousarray(frame.transpose(0, 2, 3, 1).reshape(B, -1), dtype=dt)
            old_k.dense_to_events(hwc, o_idx, o_cnt, o_val)

        t = interleaved({"old": old_input, "new": lambda: K.frame_to_events(frame, idx, cnt, val, *scratch)}, repeats)
        lines.append(f"| input events | old: transpose copy + scan | {p} | {t['old'] / B * 1e6:.1f} us | 1.00x | |")
        lines.append(f"| input events | current: plane scan + counting sort | {p} | {t['new'] / B * 1e6:.1f} us | {t['old'] / t['new']:.2f}x | |")
        # --- conv scatter
        w4 = conv.weight[0]
        wt_old = np.ascontiguousarray(w4.transpose(2, 3, 1, 0), dtype=dt)
        wt = np.ascontiguousarray(wt_old.reshape(-1, w4.shape[0]))
        nnz_old = np.ascontiguousarray((wt_old != 0).sum(axis=3), dtype=np.int64)
        nnz = nnz_old.reshape(-1).copy()
        _, h_out, w_out = wl.graph.shapes["conv"]
        tabs = K.conv_tables((c, h, w), (w4.shape[0], h_out, w_out), w4.shape[2:], conv.stride, conv.padding)
        cur = np.zeros((B, h_out * w_out, w4.shape[0]), dt)
        tch = np.zeros((B, h_out * w_out), np.uint8)
        acs, macs, nt = (np.zeros(B, np.int64) for _ in range(3))
        fns = {
            "old": lambda: old_k.conv_scatter(idx, cnt, val, BINARY, False, False, c, w, *w4.shape[2:], *conv.stride, *conv.padding,
                                              h_out, w_out, wt_old, nnz_old, cur.reshape(B, -1), tch, acs, macs, nt),
            "tables": lambda: conv_tables(idx, cnt, val, BINARY, c, w, *tabs, wt, cur, tch, acs),
            "runs": lambda: conv_runs(idx, cnt, val, BINARY, c, w, *tabs, wt, cur, tch, acs),
            "current": lambda: K.conv_scatter(idx, cnt, val, BINARY, False, False, c, w, *tabs, wt, nnz, cur, tch, acs, macs, nt),
        }
        results = {}
        for name, f in fns.items():  # every step computes the same currents
            cur[:] = 0
            acs[:] = 0
            f()
            results[name] = (cur.copy(), acs.copy())
        for name in fns:
            if not (np.array_equal(results[name][0], results["old"][0]) and np.array_equal(results[name][1], results["old"][1])):
                raise SystemExit(f"conv step {name!r} does not reproduce the old currents bit for bit")
        t = interleaved(fns, repeats)
        ac = int(results["old"][1].sum())
        labels = {"old": "old: per-tap divisions, unvectorised add", "tables": "+ tap tables, vectorised row add",
                  "runs": "+ runs of events at one pixel", "current": "+ 4 events per pass (current)"}
        for name in fns:
            lines.append(f"| conv scatter | {labels[name]} | {p} | {t[name] / B * 1e6:.1f} us | {t['old'] / t[name]:.2f}x | {ac / t[name] / 1e9:.2f} |")
        # --- neuron update (on the conv's current)
        _, _, bias = Simulator(wl.graph, p, batch_size=1).ops["conv"]["sets"][0]
        current0 = results["old"][0].reshape(B, -1)
        cur_o, cur_n = current0.copy(), current0.copy()
        mem_o, mem_n = np.zeros_like(current0), np.zeros_like(current0)
        oi, oc = np.zeros((B, current0.shape[1]), np.int32), np.zeros(B, np.int64)
        leak, gain, thr = dt(0.9), dt(1.0), dt(1.0)

        def old_neuron():
            cur_o[:] = current0
            old_k.neuron_update(cur_o, bias, mem_o, leak, gain, thr, oi, oc)

        def new_neuron():
            cur_n[:] = current0
            K.neuron_update(cur_n, bias, mem_n, leak, gain, thr, False, oi, oc)

        def copy_only():
            cur_n[:] = current0

        t = interleaved({"old": old_neuron, "new": new_neuron, "copy": copy_only}, repeats)
        lines.append(f"| neuron update | old: one branchy loop | {p} | {(t['old'] - t['copy']) / B * 1e6:.1f} us | 1.00x | |")
        lines.append(f"| neuron update | current: two passes per 512 neurons | {p} | {(t['new'] - t['copy']) / B * 1e6:.1f} us | "
                     f"{(t['old'] - t['copy']) / (t['new'] - t['copy']):.2f}x | |")
        # --- pooling of the neuron's spikes
        K.neuron_update(current0.copy(), bias, np.zeros_like(current0), leak, gain, thr, True, oi, oc)
        pool = wl.graph.node("pool")
        _, ph, pw = wl.graph.shapes["pool"]
        n_pool = c * ph * pw
        ones = np.ones((B, current0.shape[1]), dt)
        acc, mark = np.zeros((B, n_pool), dt), np.zeros((B, n_pool), np.uint8)
        p_idx, p_cnt, p_val = np.zeros((B, n_pool), np.int32), np.zeros(B, np.int64), np.zeros((B, n_pool), dt)
        table = (*K.window_table(h_out, ph, pool.kernel[0], pool.stride[0]), *K.window_table(w_out, pw, pool.kernel[1], pool.stride[1]))
        win = np.zeros((B, table[1].shape[1] * table[3].shape[1]), np.int64)
        t = interleaved({
            "old": lambda: old_k.pool_events(oi, oc, ones, K.MODE_OR, c, w_out, *pool.kernel, *pool.stride, ph, pw, acc, mark, p_idx, p_cnt, p_val),
            "new": lambda: K.pool_events(oi, oc, ones, K.MODE_OR, c, w_out, *table, pw, 0.0, acc, mark, win, p_idx, p_cnt, p_val),
        }, repeats)
        lines.append(f"| max-pool (OR) | old: per-event window arithmetic | {p} | {t['old'] / B * 1e6:.1f} us | 1.00x | |")
        lines.append(f"| max-pool (OR) | current: tables + runs | {p} | {t['new'] / B * 1e6:.1f} us | {t['old'] / t['new']:.2f}x | |")
        for line in lines[-12:]:
            log(line)
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="ablation.py", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--rev", default=REV, help="git revision holding the old kernels/engine")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--wide-samples", type=int, default=32)
    ap.add_argument("--precisions", default="float32,float64")
    ap.add_argument("--out", type=Path, default=None, help="also write the markdown tables here")
    args = ap.parse_args(argv)
    precisions = [p for p in args.precisions.split(",") if p]

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    old_k, old_engine = load_old(args.rev)
    wide = wide_conv(args.wide_samples)
    text = ["# Simulator optimisations, before and after", "",
            f"Old = `asnn_sim/sim/{{kernels,engine}}.py` at `{args.rev}`; median of {args.repeats} interleaved repeats; "
            "JIT compilation excluded (warm-up run first).", "", "## End to end (`Simulator.run_batch`)", ""]
    text += end_to_end(old_engine, [(lenet(log=log), 128), (wide, 32)], precisions, args.repeats, log)
    text += ["", f"## Kernels of the wide conv workload (t = 0, {args.wide_samples} samples per call)", ""]
    text += kernel_steps(old_k, wide, precisions, args.repeats, log)
    out = "\n".join(text) + "\n"
    print(out)
    if args.out:
        from asnn_sim import atomic

        atomic.write_text(args.out, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
