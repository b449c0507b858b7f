"""The markdown report of ``peers.py``: timing tables, counts table, spike agreement, neuron parameters."""

from __future__ import annotations

import peer_models as pm
from bench_sim import fmt_time

COUNTING = ("neurobench", "spikingjelly", "sinabs")  # the rows "vs fastest peer" compares with


def rate(x: float) -> str:
    """Samples/s: whole numbers from 100 up, three significant digits below (ResNet-19 runs ~10/s)."""
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def fastest_peer(rows: list[dict], batch: int) -> dict | None:
    cands = [r for r in rows if r["batch"] == batch and r["precision"] == "float32" and r["key"] in COUNTING]
    return max(cands, key=lambda r: r["samples_per_s"]) if cands else None


def timing_table(rows: list[dict], precision: str, batch_list: list) -> str:
    out = ["| batch | implementation | counts | samples timed | median pass (s) | samples/s | per sample | vs fastest float32 peer |",
           "|---:|---|---|---:|---:|---:|---:|---:|"]
    for b in batch_list:
        ref = fastest_peer(rows, b)
        for r in rows:
            if r["batch"] != b or r["precision"] != precision:
                continue
            rel = "-" if ref is None else f"{r['samples_per_s'] / ref['samples_per_s']:.2f}x"
            out.append(f"| {b} | {r['label']} | {r['counts']} | {r['samples']} | {r['median']:.4f} | {rate(r['samples_per_s'])} | "
                       f"{fmt_time(r['median'] / r['samples'])} | {rel} |")
    return "\n".join(out)


def counts_table(check: dict) -> str:
    ours, nz = check["ours"], check["ours_skip_zero_weights"]
    nbe = check["peers"].get("neurobench")
    sj = check["peers"].get("spikingjelly", {}).get("per_module")
    sb = check["peers"].get("sinabs", {}).get("per_module")
    head, rule = "| module | ours: ACs | ours: MACs | ours: dense MACs |", "|---|---:|---:|---:|"
    if nbe:
        head += " NeuroBench AC / MAC / dense (torch neuron) | NeuroBench AC / MAC (snnTorch model) |"
        rule += "---:|---:|"
    if sj:
        head += " SpikingJelly SynOps |"
        rule += "---:|"
    if sb:
        head += " Sinabs synops |"
        rule += "---:|"
    lines = [head, rule]
    for name in ours:
        o = ours[name]
        row = f"| {name} | {o['AC']:,} | {o['MAC']:,} | {o['dense']:,} |"
        if nbe:
            a, s = nbe["per_module"][name], nbe["snntorch_per_module"][name]
            row += f" {a['AC']:,} / {a['MAC']:,} / {a['dense']:,} | {s['AC']:,} / {s['MAC']:,} |"
        if sj:
            row += f" {sj[name]:,} |"
        if sb:
            row += f" {round(sb[name]):,} |" if o["MAC"] == 0 else f" {sb[name]:,.2f} |"
        lines.append(row)
    tot = {w: sum(v[w] for v in ours.values()) for w in ("AC", "MAC", "dense")}
    row = f"| **total** | {tot['AC']:,} | {tot['MAC']:,} | {tot['dense']:,} |"
    if nbe:
        a, s = nbe["metric_totals"], nbe["snntorch_metric_totals"]
        row += (f" {a.get('Effective_ACs', 0):,} / {a.get('Effective_MACs', 0):,} / {a.get('Dense', 0):,} |"
                f" {s.get('Effective_ACs', 0):,} / {s.get('Effective_MACs', 0):,} |")
    if sj:
        row += f" {sj['_total']:,} |"
    if sb:
        row += f" {sum(sb.values()):,.2f} |"
    lines.append(row)
    same = all(ours[k] == nz[k] for k in ours)
    lines += ["", f"Zero weights in the graph: {sum(check['zero_weights'].values())} "
              f"({'so our default and skip_zero_weights counts are equal' if same else 'our skip_zero_weights counts differ from the default ones'})."]
    return "\n".join(lines)


def spike_lines(check: dict) -> list[str]:
    out = []
    for kind, v in check["spikes"].items():
        d = sum(v["spikes_differing"].values())
        out.append(f"* {kind}: {d:,} of {v['spikes_compared']:,} spikes differ ({d / v['spikes_compared']:.4%}; per layer "
                   + ", ".join(f"{k} {x:,}" for k, x in v["spikes_differing"].items())
                   + f"), {v['prediction_mismatches']} of {check['samples']} predictions differ"
                   + (f" (our logit margin there at most {v['flipped_margin_max']:.3g}; median margin over all samples "
                      f"{v['margin_median']:.3g})" if v.get("flipped_margin_max") is not None else ""))
    return out


def params_table(net: pm.StockNet) -> str:
    """One row per neuron layer; a threshold column only where some gain cannot be folded
    (so the LeNet's table, all folded, reads as it always has)."""
    mixed = not all(net.folded.values())
    if mixed:
        lines = ["| neuron | leak | gain | for the peers | stock threshold | snnTorch `beta` | SpikingJelly `tau` | Sinabs `alpha_mem` |",
                 "|---|---:|---:|---|---:|---:|---:|---:|"]
    else:
        lines = ["| neuron | leak | gain (folded into the weights for the peers) | snnTorch `beta` | SpikingJelly `tau` | Sinabs `alpha_mem` |",
                 "|---|---:|---:|---:|---:|---:|"]
    for lif in net.neurons:
        lk = net.leak[lif]
        how = f" {'gain folded into the weights' if net.folded[lif] else 'threshold 1/gain'} | {net.threshold[lif]:.8f} |" if mixed else ""
        lines.append(f"| {lif} | {lk:.8f} | {net.gain[lif]:.8f} |{how} {lk:.8f} | {1 / (1 - lk):.8f} | {lk:.8f} |")
    return "\n".join(lines)


def fmt_acc(acc) -> str:
    return "-" if acc is None else f"{acc:.4f}"


def report(res: dict, facts: dict, peers: dict, args, command: str) -> str:
    c64, c32 = res["check_f64"], res["check_f32"]
    pooled = any(kind == "avgpool2d" for _, kind, _ in res["net"].steps)
    lines = ["# asnn-sim against the peers: counting throughput, stock neurons, float32", "",
             f"Command: `{command}`", "",
             f"Machine: {facts['cpu']}, {facts['usable_cpus']} usable CPUs; Numba {facts['numba']} ({facts['numba_threads']} threads), "
             f"PyTorch {facts['torch']} ({facts['torch_threads']} threads), NumPy {facts['numpy']}, Python {facts['python']}.", "",
             "Peers: " + "; ".join(
                 f"{p['label']} " + (", ".join(f"{d} {v}" for d, v in p["versions"].items() if v) if p["ok"] else f"not available ({p['error']})")
                 for p in peers.values()) + ".", "",
             f"Workload: {res['workload']}, {c64['samples']} samples; "
             + ("no labels (random images). " if c64["accuracy"] is None else
                f"our accuracy {fmt_acc(c64['accuracy'])} (float64), {fmt_acc(c32['accuracy'])} (float32). ")
             + "Neuron parameters (constant over the T steps):", "", params_table(res["net"]), ""]
    if res.get("rows"):
        rows, bl = res["rows"], args.batch_list
        lines += ["## float32 (the main table)", "",
                  f"Median of {args.rounds} interleaved round(s) after one warm-up pass each, per batch size. "
                  f"\"vs fastest float32 peer\": this row's samples/s over the fastest counting float32 peer's "
                  f"({', '.join(COUNTING)}) at the same batch size.", "", timing_table(rows, "float32", bl), ""]
        for b in bl:
            ref = fastest_peer(rows, b)
            ours = next((r for r in rows if r["batch"] == b and r["key"] == "ours simulate" and r["precision"] == "float32"), None)
            if ref and ours:
                lines.append(f"* batch {b}: `simulate()` float32 {rate(ours['samples_per_s'])} samples/s vs the fastest counting peer "
                             f"({ref['label']}) {rate(ref['samples_per_s'])}: **{ours['samples_per_s'] / ref['samples_per_s']:.2f}x**.")
        share = res.get("foreign")
        if share is not None:
            lines += ["", f"Other processes used {share:.0%} of the machine's CPU time while this ran"
                      + (" (a quiet machine)." if share < 0.05 else ": the machine was shared, so these numbers are provisional.")]
        lines += ["", "## float64 (extra information)", "", timing_table(rows, "float64", bl), ""]
    lines += ["## Cross-check (before timing)", "",
              f"float64, batch {c64['batch']}: every peer's spikes against the simulator's float64 spikes (every neuron layer, step and sample):", ""]
    lines += spike_lines(c64)
    lw = c64.get("snntorch_layerwise")
    if lw:
        thr = "`v > 2`, the trained neuron `v > 1`" if all(res["net"].folded.values()) else \
            "`v > 2 * threshold`, the trained neuron `v > threshold`"
        lines += ["", "snnTorch's `Leaky(reset_mechanism=\"subtract\", reset_delay=False)` is not the trained neuron when a membrane is "
                  "still above threshold after its soft reset: at the next step snnTorch subtracts the threshold again before its "
                  f"comparison (it tests {thr}). Layer by layer, each fed our input spikes: "
                  + "; ".join(f"{k}: {v['differ']:,} spikes differ, {v['neurons_differing']:,} neurons (per sample), "
                              f"{v['steps_starting_above_threshold']:,} neuron-steps start above threshold, "
                              f"{v['unexplained']} first differences elsewhere" for k, v in lw.items()) + "."]
    tol = c32.get("pred_tolerance", 0.01)
    lines += ["", f"float32, batch {c32['batch']}: every float32 peer against our float32 replay (different summation orders "
              "may flip a spike; " + ("predictions reported, not checked: the untrained network's logits are near ties" if tol is None else
                                      f"the check fails only if more than {tol * 100:g} % of predictions differ")
              + ("" if c32.get("spike_tolerance") is None else
                 f"; it fails if more than {c32['spike_tolerance'] * 100:g} % of a peer's spikes differ, snnTorch excepted") + "):", ""]
    lines += spike_lines(c32)
    lines += ["", "Counts (float64), totals over the samples:", "", counts_table(c64), "",
              "What the count columns are:", "",
              "* ours: `synaptic_acs` (non-zero binary input x in-bounds synapse), `synaptic_macs` (the same for analog "
              "inputs: the direct-coded first layer" + (", and a layer reading an average pool" if pooled else "") + "), "
              "`dense_macs` (every input element x in-bounds synapse);",
              "* NeuroBench `SynapticOperations`, per layer by its own rule (`single_layer_MACs`): inputs and weights "
              "binarised, a zero weight stays 0 (our `skip_zero_weights` count); all input values in {-1, 0, 1}: ACs, "
              "else MACs; `Dense` with all inputs and weights 1. Checked equal to ours on the plain torch neuron "
              "(`TorchModel`), whose spikes are ours; the snnTorch model's column counts snnTorch's own spikes;",
              "* SpikingJelly `SynOpCounter`: per aten conv/matmul with a binary input: in-bounds pairs x output "
              "channels (zero weights count); an analog input counts 0;",
              "* Sinabs `conv_layer_synops_hook` / `linear_layer_synops_hook`: sum over inputs of value x fan-out, equal "
              "to our ACs for spikes and a value-weighted sum (not an operation count) for analog inputs.", ""]
    return "\n".join(lines) + "\n"
