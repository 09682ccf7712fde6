"""The whole benchmark, its targets, and its results as text."""

import textwrap

import numpy as np

from .implementations import LABELS, flops_done_per_token, flops_per_token
from .experiments import gain_benchmark, scaling_benchmark, step_benchmark, thread_benchmark
from .footprint import memory_benchmark
from ..kernel_choice import kernel_choices
from .machine import LIMITING, machine_info
from .peers import BATCH_SIZES, PEER_LABELS, PEERS, STRONG, leads, peak_shares, peer_benchmark
from .phases import PRODUCTS, peak_ceiling, phase_benchmark, products_rate_needed
from .timing import other_load

TARGETS = {
    "numpy": 5.0,       # float64, one thread: normrnn's tokens/s over the NumPy reference's
    "torch": 13.0,      # ... over PyTorch eager's
    "float32": 1.6,     # normrnn's float32 tokens/s over its float64 tokens/s
    "threads": 1.7,     # float64 batch of documents: 2 threads over 1
    "peers": 1.25,      # batch of B documents, each at its best B: over the best strong peer
    "peak": 0.85,       # ... normrnn on one thread: its FLOP rate over the gemm peak
}
"""normrnn's performance goals: ratios of tokens/s, and one share of the gemm peak.

The PyTorch goal is over PyTorch eager autograd of the same model written the
way a learner writes it: the model one token at a time, as the notes'
"thoughts" write it.  The report holds the one-document PyTorch version
(positions batched) to the same 13x on a line of its own, below the goals.  The peers goal is over the
fastest of the strong peers (:mod:`normrnn.bench.peers`: PyTorch eager and
``torch.compile`` batched over B documents, JAX ``jit`` over ``lax.scan``,
each written for equal lengths with the input product once per vocabulary
row), each at its best B, for each dtype and thread count.  The peak goal
is normrnn's rate in the FLOPs it really does
(:func:`~normrnn.bench.implementations.flops_done_per_token`), at its best B
on one thread, over the square gemm's rate timed on one thread in the same
run (:func:`~normrnn.bench.peers.peak_shares`).
"""

FULL = {"vocab_size": 96, "hidden_size": 128, "length": 256, "title_length": 16,
        "rounds": 7, "min_seconds": 0.1, "gemm_size": 1024, "documents": 16,
        "train_steps": 5, "scaling_hidden": (32, 64, 128, 256, 512),
        "scaling_length": (64, 256, 1024, 4096), "scaling_rounds": 3,
        "scaling_min_seconds": 0.05, "peer_batch_sizes": BATCH_SIZES, "peer_rounds": 5,
        "peer_min_seconds": 0.2, "phase_batch_size": 128}
"""The configuration of ``normrnn bench``: the V, H, T and m of the goals."""

QUICK = dict(FULL, rounds=3, min_seconds=0.02, gemm_size=512, documents=8, train_steps=2,
             scaling_length=(64, 256, 1024), scaling_rounds=3, scaling_min_seconds=0.0,
             peer_batch_sizes=(16, 64), peer_rounds=2, peer_min_seconds=0.05,
             phase_batch_size=64)
"""``normrnn bench --quick``: the same sizes, fewer and shorter measurements."""


def scaling_options(config):
    """The keyword arguments of :func:`~normrnn.bench.scaling_benchmark` for a configuration.

    Parameters
    ----------
    config : dict
        :data:`FULL` or :data:`QUICK`.

    Returns
    -------
    dict
    """
    return {"vocab_size": config["vocab_size"], "hidden_sizes": config["scaling_hidden"],
            "lengths": config["scaling_length"], "length": config["length"],
            "hidden_size": config["hidden_size"], "title_length": config["title_length"],
            "rounds": config["scaling_rounds"], "min_seconds": config["scaling_min_seconds"]}


def peer_choice(*, quick=False, use_torch=True, use_jax=True, peers=None):
    """Which peers the benchmark times, and why the others are left out.

    Parameters
    ----------
    quick : bool, optional
        ``--quick`` leaves ``torch.compile`` out unless ``peers`` names it:
        its first compile of the T-step recurrence takes minutes.
    use_torch, use_jax : bool, optional
        False leaves the PyTorch peers, or JAX, out.
    peers : sequence of str, optional
        Keys of :data:`~normrnn.bench.peers.PEER_LABELS` to time (default:
        :data:`~normrnn.bench.peers.PEERS`, less ``torch.compile`` with
        ``quick``); an empty sequence leaves the whole peer part out.

    Returns
    -------
    timed : tuple of str
    left_out : dict
        Name -> the reason, for the report's row.
    """
    left_out = {}
    if peers is None:
        timed = list(PEERS)
        if quick:
            timed.remove("torch_compile")
            left_out["torch_compile"] = ("left out by --quick (its first compile takes "
                                         "minutes); --peers torch-compile adds it")
    else:
        timed = [p for p in PEER_LABELS if p in peers]
        left_out.update({p: "not in --peers" for p in PEERS if p not in peers})
    for name in list(timed):
        library, on = ("jax", use_jax) if name == "jax" else ("torch", use_torch)
        if not on:
            timed.remove(name)
            left_out[name] = f"left out by --no-{library}"
    if peers is not None and not peers:
        return (), {}
    return tuple(timed), {p: left_out[p] for p in PEER_LABELS if p in left_out}


def run_benchmark(*, quick=False, use_torch=True, scaling=False, progress=None,
                  use_jax=True, peers=None, on_part=None, config=None):
    """Run the benchmark: one step, documents in parallel, the peers, memory, and optionally scaling.

    Parameters
    ----------
    quick : bool, optional
        :data:`QUICK` instead of :data:`FULL`: seconds instead of minutes,
        noisier numbers.
    use_torch : bool, optional
        Time the PyTorch versions (when torch is installed).
    scaling : bool, optional
        Also run :func:`~normrnn.bench.scaling_benchmark`.
    progress : callable, optional
        Called with a short message before each part.
    use_jax : bool, optional
        Time the JAX peer (when JAX is installed).
    peers : sequence of str, optional
        The peers to time (see :func:`peer_choice`); ``()`` leaves the peer
        part out.
    on_part : callable, optional
        Called as ``on_part(name, results)`` as soon as a part is measured
        (``name`` one of :data:`PARTS`), to report it at once.
    config : dict, optional
        Replaces :data:`FULL` or :data:`QUICK` (tests use tiny sizes).

    Returns
    -------
    dict
        ``config``, ``machine`` (:func:`~normrnn.bench.machine_info`, plus
        ``other_load``: for each part, the cores other programs kept busy
        meanwhile, see :class:`~normrnn.bench.other_load`), ``step``,
        ``threads``, ``gain`` (:func:`~normrnn.bench.gain_benchmark`),
        ``peers`` (:func:`~normrnn.bench.peer_benchmark`, None when left
        out), ``memory``, ``scaling`` (None unless asked for) and ``targets``.
        On Ctrl-C the parts measured so far, ``targets`` left out, and
        ``interrupted``: the name of the part that was running.
    """
    c = config or (QUICK if quick else FULL)
    say = progress or (lambda message: None)
    done = on_part or (lambda name, results: None)
    results = {"config": dict(c, quick=quick), "machine": machine_info()}
    results["machine"]["other_load"] = {}

    try:
        _measure(results, c, say, done, use_torch=use_torch, use_jax=use_jax, peers=peers,
                 quick=quick, scaling=scaling)
    except KeyboardInterrupt:
        results["interrupted"] = next((p for p in PARTS if p not in results), "targets")
        results.pop("targets", None)
    # what this process's runs chose (the peers' normrnn process says its own)
    results["machine"]["kernels"]["choices"] = kernel_choices()
    return results


PARTS = ("step", "threads", "gain", "peers", "phases", "memory", "scaling", "targets")
"""The parts of the benchmark, in the order they are measured and reported."""


def _measure(results, c, say, done, *, use_torch, use_jax, peers, quick, scaling):
    """Measure every part into ``results``, calling ``done`` after each."""
    doc = {k: c[k] for k in ("vocab_size", "hidden_size", "length", "title_length")}
    loads = results["machine"]["other_load"]

    def part(name, message, function, **kwargs):
        say(message)
        with other_load() as load:
            measured = function(**kwargs)
        results[name] = measured
        loads[name] = load.cores
        done(name, results)

    part("step", "one training step, one thread", step_benchmark, **doc, use_torch=use_torch,
         rounds=c["rounds"], min_seconds=c["min_seconds"], gemm_size=c["gemm_size"])
    part("threads", "documents in parallel", thread_benchmark, **doc,
         documents=c["documents"], rounds=c["rounds"], min_seconds=c["min_seconds"])
    part("gain", "gain fixed and learned", gain_benchmark, **doc, documents=c["documents"],
         rounds=c["rounds"], min_seconds=c["min_seconds"])
    timed, left_out = peer_choice(quick=quick, use_torch=use_torch, use_jax=use_jax,
                                  peers=peers)
    if timed or left_out:
        say("batches of documents against the peers, each in a process of its own")
        measured = peer_benchmark(
            **doc, batch_sizes=c["peer_batch_sizes"], peers=timed, left_out=left_out,
            rounds=c["peer_rounds"], min_seconds=c["peer_min_seconds"], progress=say)
        groups = [g["other_load"] for d in ("float64", "float32")
                  for g in measured.get(d, {}).values() if g["other_load"] is not None]
        loads["peers"] = sum(groups) / len(groups) if groups else None
        results["peers"] = measured
        done("peers", results)
    else:
        results["peers"] = None
    part("phases", "where the time of a batch goes", phase_benchmark, **doc,
         batch_size=c["phase_batch_size"], rounds=c["rounds"], min_seconds=c["min_seconds"])
    part("memory", "memory", memory_benchmark, **doc, documents=c["documents"],
         train_steps=c["train_steps"])
    if scaling:
        part("scaling", "scaling over H and T", scaling_benchmark, **scaling_options(c),
             use_torch=use_torch)
    else:
        results["scaling"] = None
    results["targets"] = check_targets(results)
    done("targets", results)


def check_targets(results):
    """The performance goals (:data:`TARGETS`) against the measured numbers.

    The PyTorch target is checked against the per-token PyTorch model, the
    one a learner writes (the notes' "thoughts" loop).  The batched
    PyTorch version, which moves the input and logit products out of the
    loop, is a stronger baseline than the goal names: it is held to the
    same 13x on a row marked ``"beyond": True``.  The peers goal has one row
    per dtype and thread count: normrnn's tokens/s over the fastest peer's,
    each at its best batch size (:func:`~normrnn.bench.peers.leads`).

    Parameters
    ----------
    results : dict
        As returned by :func:`run_benchmark`.

    Returns
    -------
    list of dict
        ``{"key", "target", "value", "threshold", "met", "beyond"}``; ``met``
        is None where the measurement is missing (torch not installed, say).
    """
    f64 = results["step"].get("float64", {}).get("implementations", {})
    f32 = results["step"].get("float32", {}).get("implementations", {})
    threads = results.get("threads", {}).get("float64")

    def speedup(name):
        return f64[name]["speedup"] if name in f64 else None

    rows = [
        ("numpy", "float64, 1 thread: normrnn / NumPy per-token BPTT", speedup("numpy"), False),
        ("torch", "float64, 1 thread: normrnn / PyTorch eager, per token",
         speedup("torch_per_token"), False),
        ("float32", "1 thread: normrnn float32 / float64",
         f32["normrnn"]["tokens_per_s"] / f64["normrnn"]["tokens_per_s"]
         if "normrnn" in f32 and "normrnn" in f64 else None, False),
        ("threads", "float64, batch of documents: 2 threads / 1 thread",
         threads["speedup"].get(2) if threads else None, False),
    ]
    peers = results.get("peers") or {}
    peer_leads = leads(peers) or [
        {"dtype": "float64", "threads": 1, "over": None, "value": None}]   # peers not run
    for lead in peer_leads:
        over = f" ({PEER_LABELS[lead['over']]})" if lead["over"] else ""
        rows.append(("peers", f"{lead['dtype']}, {lead['threads']} thread"
                              f"{'s' * (lead['threads'] > 1)}, best B: normrnn / best strong peer"
                              f"{over}{_coverage(peers, lead)}", lead["value"], False))
    c = results.get("config", {})
    shares = (peak_shares(peers, results.get("step"), c["vocab_size"], c["hidden_size"],
                          c["length"], c["title_length"]) if peers and "vocab_size" in c else [])
    for share in shares or [{"dtype": "float64", "value": None}]:     # peers not run
        rows.append(("peak", f"{share['dtype']}, 1 thread, best B: normrnn's GFLOP/s in the "
                             "FLOPs it does / the gemm peak",
                     share["value"], False))
    rows.append(("torch", "float64, 1 thread: normrnn / PyTorch eager, one document",
                 speedup("torch"), True))
    return [{"key": key, "target": name, "value": value, "threshold": TARGETS[key],
             "met": None if value is None else bool(value >= TARGETS[key]), "beyond": beyond}
            for key, name, value, beyond in rows]


def _coverage(peers, lead):
    """Which peers a lead is over: `` among eager, JAX; not timed: compile``."""
    rows = peers.get(lead["dtype"], {}).get(lead["threads"], {}).get("rows", {})
    named = [n for n in STRONG if n in rows]                      # in the table's order
    timed = [_SHORT[n] for n in named if rows[n].get("status") == "ok"]
    missing = [_SHORT[n] for n in named if rows[n].get("status") != "ok"]
    if not named:
        return ""
    text = f" among {', '.join(timed) or 'none'}"
    return text + (f"; not timed: {', '.join(missing)}" if missing else "")


def align_columns(rows, *, gap=2):
    """Rows of cells as lines whose columns line up, however long a cell.

    The first column is aligned left, the others right; each column is as
    wide as its longest cell, and columns are ``gap`` spaces apart.

    Parameters
    ----------
    rows : list of list of str
        Cells; every row has the same number.
    gap : int, optional

    Returns
    -------
    list of str
        One line per row, without trailing spaces.
    """
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    sep = " " * gap
    return [(row[0].ljust(widths[0]) + "".join(sep + cell.rjust(w) for cell, w
                                                in zip(row[1:], widths[1:], strict=True))
             ).rstrip() for row in rows]


# --- the text report --------------------------------------------------------------

WIDTH = 88
"""Width of the report's lines."""


def _mib(n):
    return f"{n / 2 ** 20:.1f} MiB"


def _para(text, indent="  "):
    return textwrap.wrap(text, WIDTH, initial_indent=indent,
                         subsequent_indent=indent + "  ", break_on_hyphens=False)


def _chosen(choice):
    """``float64 H=128 B<=16: v4-rows8x3, v4-matvec16``: one (dtype, H, B)'s kernels."""
    forced = " (forced)" if choice.get("forced") else ""
    return (f"{choice['dtype']} H={choice['H']} B<={choice['B']}: {choice['rows']}, "
            f"{choice['matvec']}{forced}")


def _choice_lines(choices):
    """What :func:`normrnn.kernel_choices` said: the setting and each choice made."""
    if not isinstance(choices, dict):        # records made before it: nothing, or its text
        return _para(f"kernel choices: {choices}") if choices else []
    made = "; ".join(_chosen(c) for c in choices["choices"]) or "none made in this process"
    lines = _para(f"step kernels (NORMRNN_KERNEL={choices['setting']}), chosen by timing: "
                  f"{made}")
    if choices.get("loss_choices"):                 # records made before it have none
        lines += _para("the loss's blocks: " + "; ".join(_loss_groups(choices["loss_choices"])))
    return lines


def _loss_groups(records):
    """``loss-blocks64 for 10 (dtype, H, V) (BLAS: SkylakeX (small-matrix kernels))``, ...

    The records that chose alike for the same reason and timed nothing are
    said once; a timed record (``NORMRNN_KERNEL=fastest``) with its times.
    """
    groups = {}
    for record in records:
        times = "; ".join(f"{name} {t:.0f} us" for name, t in record["times_us"].items())
        sizes = f"{record['dtype']} H={record['H']} V={record['V']}"
        if times:
            groups[(record["loss"], f"{record.get('why')}; {times}", sizes)] = [sizes]
        else:
            groups.setdefault((record["loss"], record.get("why") or "forced", None), []).append(
                sizes)
    return [f"{loss} for {sizes[0] if len(sizes) == 1 else f'{len(sizes)} (dtype, H, V)'} "
            f"({why})" for (loss, why, _), sizes in groups.items()]


def _machine_lines(machine):
    lines = _para(f"{machine['cpu']}, {machine['cores']} cores; Python {machine['python']}, "
                  f"NumPy {machine['numpy']}, PyTorch {machine['torch'] or 'not installed'}")
    if machine.get("vector_level"):                 # records made before it say nothing
        extensions = ", ".join(machine["avx512_extensions"]) or "none"
        lines += _para(f"CPU family {machine['cpu_family']}, model {machine['cpu_model']}; "
                       f"vector level {machine['vector_level']}; AVX-512 extensions: "
                       f"{extensions}")
        kernels = machine["kernels"]
        lines += _para(f"normrnn's kernels: {kernels['clones']}")
        lines += _choice_lines(kernels.get("choices"))
    for lib in machine["blas"]:
        lines += _para(f"BLAS {lib['library']} ({lib['api']} {lib['version']}): "
                       f"{lib['architecture']} kernels")
    env = machine["environment"]
    lines += _para("environment: " + (", ".join(f"{k}={v}" for k, v in env.items()) if env
                                      else "none of the variables that choose kernels set"))
    overrides = [k for k in LIMITING if k in env]
    if overrides:
        lines += _para("these override the libraries' own choice of kernels and can slow them; "
                       "compare: env " + " ".join(f"-u {k}" for k in overrides) + " normrnn bench")
    busy = {k: v for k, v in machine.get("other_load", {}).items() if v is not None}
    if busy:
        lines += _para("other programs kept busy, on average, "
                       + ", ".join(f"{v:.2f} cores during the {k} part" for k, v in busy.items())
                       + " (of " + str(machine["cores"]) + ")")
    if max(busy.values(), default=0) > 0.1:
        lines += _para("warning: other programs ran during the benchmark: the timings are "
                       "noisy, and the thread speed-up is not that of an idle machine")
    elif machine["load"] is not None and machine["load"] > 0.5:
        lines += _para(f"note: load average {machine['load']:.2f} at the start")
    return lines


def _step_lines(step, config):
    dtypes = list(step)
    peaks = "; ".join(f"{'d' if d == 'float64' else 's'}gemm {step[d]['peak_gflops']:.1f}"
                      for d in dtypes)
    lines = _para(f"V={config['vocab_size']} H={config['hidden_size']} T={config['length']} "
                  f"m={config['title_length']}, one thread, median of {config['rounds']} "
                  f"interleaved rounds.  FLOPs per token 12H^2+6VH = "
                  f"{flops_per_token(config['vocab_size'], config['hidden_size']):,}.  Peak "
                  f"(GFLOP/s, a {step[dtypes[0]]['gemm_size']}^3 product in the same "
                  f"rounds): {peaks}.  speed-up: normrnn's tokens/s over this one's; % peak: "
                  "its FLOP rate over the peak, counting the model's FLOPs (normrnn's fast "
                  "path does fewer: the input products once per distinct token).")
    lines += ["", f"  {'':<31}" + "".join(f"{d:^26}" for d in dtypes),
              f"  {'implementation':<31}"
              + f"{'tokens/s':>10}{'speed-up':>9}{'% peak':>7}" * len(dtypes)]
    for name, label in LABELS.items():
        if not any(name in step[d]["implementations"] for d in dtypes):
            continue
        line = f"  {label:<31}"
        for d in dtypes:
            row = step[d]["implementations"].get(name)
            line += (f"{row['tokens_per_s']:>10,.0f}{row['speedup']:>8.1f}x"
                     f"{100 * row['peak_share']:>6.1f}%") if row else f"{'-':>26}"
        lines.append(line)
    worst = ", ".join(
        f"{d} {max(r['max_relative_difference'] for r in step[d]['implementations'].values()):.0e}"
        for d in dtypes)
    lines += [""] + _para(f"Every implementation's loss and gradients agree with normrnn's, "
                          f"largest relative difference: {worst}.")
    firsts = [f"{LABELS[n]} {1e3 * r['first_seconds']:.1f}" for n, r in
              step[dtypes[0]]["implementations"].items() if "first_seconds" in r]
    if firsts:
        lines += [""] + _para(f"Time to first gradient, {dtypes[0]}: the first call (ms; the "
                              "steady state is the table's): " + ", ".join(firsts) + ".")
    lines += [""] + _para(
        "The sequential part alone, 2(T-1) dependent products y = M^T x (S s_t forward, "
        "S^T delta_t backward), per product: "
        + "; ".join(_sequential_text(d, step[d], config) for d in dtypes) + ".")
    return lines


def _sequential_text(dtype, step, config):
    """matvec.h and gemv per product, and the share of normrnn's step the products take."""
    matvec, gemv = (step["sequential_product_seconds"][k] for k in ("matvec", "gemv"))
    share = 2 * (config["length"] - 1) * matvec / step["implementations"]["normrnn"]["seconds"]
    return (f"{dtype} matvec.h {1e6 * matvec:.2f} us, BLAS gemv {1e6 * gemv:.2f} us "
            f"({gemv / matvec:.2f}x); the 2 per token are {share:.0%} of normrnn's step")


def _thread_lines(threads):
    lines = []
    for d, row in threads.items():
        rates = ", ".join(f"{k} thread{'s' * (k > 1)} {v:,.0f}"
                          for k, v in row["tokens_per_s"].items())
        most = max(row["speedup"])
        lines += _para(f"{d}: tokens/s {rates}: {row['speedup'][most]:.2f}x.  Bitwise "
                       f"reproducible: {'yes' if row['reproducible'] else 'NO'}; 1 and "
                       f"{most} threads differ by {row['thread_difference']:.0e} (rounding).")
    return lines


def _gain_lines(gain):
    lines = []
    for d, row in gain.items():
        step, batch = row["step"], row["batch"]
        lines += _para(f"{d}: one document, 1 thread: fixed {step['fixed']:,.0f}, learned "
                       f"{step['learned']:,.0f} tokens/s ({step['ratio']:.2f}x); batch, 2 "
                       f"threads: fixed {batch['fixed']:,.0f}, learned {batch['learned']:,.0f} "
                       f"({batch['ratio']:.2f}x).")
    return lines


_SHORT = {"normrnn": "normrnn", "torch_eager": "eager", "torch_compile": "compile",
          "torch_autotune": "autotune", "jax": "JAX", "bridge": "bridge"}


def _peer_cell(row):
    if row.get("status") != "ok":
        return row.get("status", "-")
    return f"{row['best_tokens_per_s']:,.0f} B={row['best_batch']}"


def _span_header(header, dtypes, per_dtype):
    """The dtypes centred over their columns of the aligned ``header`` line."""
    ends = [i + 1 for i, (a, b) in enumerate(zip(header, header[1:] + " ", strict=True))
            if a != " " and b == " "]          # where each cell of the header ends
    cells = ends[len(ends) - per_dtype * len(dtypes):]
    line, start = "", ends[0]
    for i, d in enumerate(dtypes):
        stop = cells[(i + 1) * per_dtype - 1]
        line = line.ljust(start) + d.center(stop - start)
        start = stop
    return line.rstrip()


def _peer_lines(peers, config, step=None):
    dtypes = [d for d in ("float64", "float32") if d in peers]
    columns = [(d, k) for d in dtypes for k in peers["threads"]]
    sizes = ", ".join(str(b) for b in peers["batch_sizes"])
    lines = _para(f"B documents of T={config['length']} at once, loss and all gradients, "
                  f"{PEER_LABELS['normrnn']} against the strong peers (written for equal "
                  "lengths: the input product once per vocabulary row, no masks); "
                  f"B swept over {sizes}; tokens/s (wall) at each one's best B, median of "
                  f"{config['peer_rounds']} rounds interleaved between processes, one "
                  "process per implementation with its thread setting.  "
                  f"{PEER_LABELS['bridge']}: the package's own PyTorch bridge, eager, "
                  "for comparison, not a peer.")
    table = [["implementation", *(f"{k} thread" + "s" * (k > 1) for _, k in columns)]]
    for name in peers["peers"]:
        label = "normrnn" if name == "normrnn" else PEER_LABELS[name]
        table.append([label, *(_peer_cell(peers[d][k]["rows"].get(name, {}))
                                           for d, k in columns)])
    leads_ = {(x["dtype"], x["threads"]): x for x in leads(peers)}
    table.append(["normrnn / best strong peer", *(
        "-" if leads_.get(c, {}).get("value") is None else f"{leads_[c]['value']:.2f}x"
        for c in columns)])
    shares = {x["dtype"]: x for x in peak_shares(peers, step, config["vocab_size"],
                                                 config["hidden_size"], config["length"],
                                                 config["title_length"])}
    if any(x["value"] is not None for x in shares.values()):
        table.append(["normrnn, share of gemm peak", *(
            f"{100 * shares[d]['value']:.0f}%" if k == 1 and shares.get(d, {}).get("value")
            else "-" for d, k in columns)])
    body = align_columns(table)
    lines += ["", "  " + _span_header(body[0], dtypes, len(peers["threads"])),
              *("  " + line for line in body)]
    covered = sorted({_coverage(peers, x) for x in leads_.values()} - {""})
    if covered:
        lines += [""] + _para("normrnn / best strong peer: over the best peer"
                              + "; and ".join(covered) + ".")
    timed = [x for x in shares.values() if x["value"] is not None]
    if timed:
        flops = flops_done_per_token(config["vocab_size"], config["hidden_size"],
                                     config["length"], config["title_length"])
        lines += [""] + _para(
            f"Share of gemm peak: normrnn's rate on one thread at its best B in the "
            f"{flops:,.0f} FLOPs a token it does (the step products at T-1 and T-2 steps, "
            "dS over T-1 steps, the three products with E at T-m scored positions; the "
            "input products run once per distinct token and are left out), over the "
            "square gemm of the one-step "
            "table above: " + "; ".join(f"{x['dtype']} {x['gflops']:.1f} of "
                                        f"{x['peak_gflops']:.1f} GFLOP/s" for x in timed)
            + ".")
    first = _first_gradient_lines(peers, columns, dtypes)
    lines += [""] + first if first else []
    lines.append("")
    notes = {}
    for d, k in columns:
        for name, row in peers[d][k]["rows"].items():
            if row.get("status") in ("left out", "failed"):
                notes[name] = row.get("reason") or row.get("error")
    for name, why in notes.items():
        lines += _para(f"{PEER_LABELS[name]}: {why}.")
    differences = []
    for d in dtypes:
        diffs = [r["max_relative_difference"] for k in peers["threads"]
                 for n, r in peers[d][k]["rows"].items() if n != "normrnn" and r["status"] == "ok"]
        if diffs:
            differences.append(f"{d} {max(diffs):.0e}")
    if differences:
        lines += _para("Before timing, every peer's loss and gradients of its first batch "
                       "agree with normrnn's, largest relative difference: "
                       + ", ".join(differences) + ".")
    used = []
    for d, k in columns:
        group = peers[d][k]
        cores = ", ".join(f"{_SHORT.get(n, n)} {r['cores_used']:.2f}"
                          for n, r in group["rows"].items()
                          if r.get("status") == "ok" and r.get("cores_used") is not None)
        load = ([] if group["other_load"] is None
                else [f"other programs {group['other_load']:.2f}"])
        used.append(f"{d}, {k} thread{'s' * (k > 1)}: "
                    + ", ".join(([cores] if cores else []) + load or ["-"]))
    lines += _para("Cores kept busy while timed (CPU time over wall time, where timed for "
                   "0.5 s or more): " + "; ".join(used) + ".")
    chosen = [f"{k} thread{'s' * (k > 1)}: " + "; ".join(_chosen(c) for c in row["kernels"])
              for d, k in columns
              if (row := peers[d][k]["rows"].get("normrnn", {})).get("kernels")]
    if chosen:
        lines += _para("normrnn's step kernels, chosen by timing in its process: "
                       + "; ".join(chosen) + ".")
    return lines


def _first_cell(row):
    """``first s, steady ms`` of a row, or its status."""
    if row.get("status") != "ok":
        return row.get("status", "-")
    if "first_gradient_seconds" not in row:
        return "-"
    steady = row["seconds"][row["first_batch"]]
    return f"{row['first_gradient_seconds']:.1f} s, {1e3 * steady:.0f} ms"


def _first_gradient_lines(peers, columns, dtypes):
    """Time to first gradient, then steady state, of each implementation, on the fewest threads."""
    fewest = min(peers["threads"])
    columns = [(d, k) for d, k in columns if k == fewest]
    rows = [peers[d][k]["rows"] for d, k in columns]
    first = next((r["first_batch"] for group in rows for r in group.values()
                  if r.get("status") == "ok" and "first_batch" in r), None)
    if first is None:
        return []
    lines = _para(f"Time to first gradient, then steady state, {fewest} thread"
                  f"{'s' * (fewest > 1)}: seconds from a process's start of work (library "
                  f"imported, model built, compiled) to its first loss and gradients of "
                  f"B={first} documents; then milliseconds per call at that B.")
    table = [["implementation", *("first, steady" for _ in columns)]]
    for name in peers["peers"]:
        label = "normrnn" if name == "normrnn" else PEER_LABELS[name]
        table.append([label, *(_first_cell(group.get(name, {})) for group in rows)])
    body = align_columns(table)
    return lines + ["", "  " + _span_header(body[0], dtypes, 1),
                    *("  " + line for line in body)]


def _memory_lines(memory):
    doc, batch, run = memory["per_document"], memory["batch"], memory["training_run"]
    lines = _para(f"One document (float64): traced peak {_mib(doc['peak_bytes'])} at "
                  f"T={doc['length']}, {_mib(doc['long_peak_bytes'])} at "
                  f"T={doc['long_length']}: {doc['bytes_per_token']:,.0f} bytes per token, "
                  f"the activations kept ((4H + V) x 8 = "
                  f"{doc['expected_bytes_per_token']:,}); nothing else grows with T.")
    lines += _para(f"A batch of {batch['documents']} documents on {batch['threads']} threads: "
                   f"traced peak {_mib(batch['peak_bytes'])} (parameters "
                   f"{_mib(doc['parameter_bytes'])}).")
    if run:
        lines += _para(f"A training run ({run['steps']} SGD steps of that batch, in a process "
                       f"of its own): peak RSS {_mib(run['max_rss_bytes'])}, Python, NumPy, "
                       f"SciPy and the BLAS buffers included; {_mib(run['rss_growth_bytes'])} "
                       "above its size before the first step.")
    return lines


def _phase_lines(phases, step):
    dtypes = list(phases)
    table = [["", *(x for d in dtypes for x in (d, "", ""))],
             ["phase", *(x for _ in dtypes for x in ("ms", "share", "GFLOP/s"))]]
    for name in phases[dtypes[0]]["phases"]:
        row = [name]
        for d in dtypes:
            part = phases[d]
            seconds = part["phases"][name]
            flops = part["flops"].get(name)
            row += [f"{1e3 * seconds:.1f}", f"{100 * seconds / part['seconds']:.1f}%",
                    f"{flops / seconds / 1e9:.1f}" if flops and seconds > 0 else ""]
        table.append(row)
    table.append(["the whole call", *(x for d in dtypes for x in (
        f"{1e3 * phases[d]['seconds']:.1f}", "100%",
        f"{sum(phases[d]['flops'].values()) / phases[d]['seconds'] / 1e9:.1f}"))])
    body = align_columns(table)
    lines = ["  " + line for line in body]
    ceilings = [(d, step[d]["peak_gflops"]) for d in dtypes
                if (step or {}).get(d, {}).get("peak_gflops")]
    lines += [""] + _para(
        "GFLOP/s in the FLOPs each product does (" + ", ".join(PRODUCTS) + "; the "
        "parameter sums also add the deltas by token and run the input products, "
        "uncounted). The rest is elementwise work and copies.")
    if ceilings:
        lines += _para(
            "With every product at the square gemm's rate and the rest as measured, the "
            "share of the gemm peak would be at most " + "; ".join(
                f"{100 * peak_ceiling(phases[d], peak):.0f}% in {d} (peak {peak:.1f} "
                "GFLOP/s)" for d, peak in ceilings) + ".")
        lines += _para(
            f"{100 * TARGETS['peak']:.0f}% of the peak, with the rest as measured, would need "
            "every product at " + "; ".join(
                _needed(products_rate_needed(phases[d], peak, TARGETS["peak"]), d)
                for d, peak in ceilings) + ".")
    return lines


def _needed(fraction, dtype):
    if fraction == float("inf"):
        return f"any speed in {dtype} (the rest alone takes longer)"
    return f"{100 * fraction:.0f}% of the peak in {dtype}"


def _scaling_lines(scaling):
    lines = []
    for axis, name, other in (("hidden_size", "H", "T"), ("length", "T", "H")):
        part = scaling[axis]
        lines += [f"  over {name} ({other}={part['fixed']}), tokens/s, float64 unless marked:",
                  f"  {name:>31}" + "".join(f"{v:>10}" for v in part["values"])]
        for impl, rates in part["tokens_per_s"].items():
            label = LABELS.get(impl, "normrnn (fast BPTT), float32")
            lines.append(f"  {label:<31}" + "".join(
                f"{r:>10,.0f}" if r else f"{'-':>10}" for r in rates))
        lines.append(f"  {'normrnn, % of dgemm peak':<31}"
                     + "".join(f"{100 * p:>9.1f}%" for p in part["peak_share"]))
    return lines


def _target_lines(targets):
    lines = ["Targets (normrnn's performance goals)"]
    mark_width = max(len(_MARKS[t["met"]]) for t in targets)
    value_width = max(len(_value(t)) for t in targets)
    for beyond in (False, True):
        if beyond:
            lines.append("Beyond the goals, the same 13x: PyTorch eager on one document "
                         "(positions batched)")
        for t in (t for t in targets if t["beyond"] == beyond):
            lead = f"{_MARKS[t['met']]:<{mark_width}}  {_value(t):>{value_width}}"
            lines += textwrap.wrap(f"{lead} (>= {_threshold(t):>5})  {t['target']}",
                                   WIDTH, initial_indent="  ",
                                   subsequent_indent=" " * (mark_width + value_width + 17))
    return lines


_MARKS = {True: "met", False: "NOT MET", None: "not measured"}


def _value(target):
    if target["value"] is None:
        return "-"
    return (f"{100 * target['value']:.1f}%" if target.get("key") == "peak"
            else f"{target['value']:.2f}x")


def _threshold(target):
    return (f"{100 * target['threshold']:.0f}%" if target.get("key") == "peak"
            else f"{target['threshold']}x")


def format_part(results, name):
    """One part of the report: its heading and lines, as soon as the part is measured.

    Parameters
    ----------
    results : dict
        As returned by :func:`run_benchmark` (or passed to its ``on_part``).
    name : str
        ``"machine"`` or one of :data:`PARTS`.

    Returns
    -------
    list of str
        Empty when the part was not measured (``peers`` or ``scaling`` left out).
    """
    c = results["config"]
    if name == "machine":
        return ["Machine", *_machine_lines(results["machine"])]
    if name == "step":
        return ["One training step (loss and all gradients) of one document",
                *_step_lines(results["step"], c)]
    if name == "threads":
        threads = results["threads"]["float64"]["documents"]
        return [(f"Documents in parallel: batch_loss_and_grads, {threads} documents of "
                 f"T={c['length']}"), *_thread_lines(results["threads"])]
    if name == "gain" and results.get("gain"):
        return ["Gain fixed (1/H) against learned (tokens/s; S is made once per document)",
                *_gain_lines(results["gain"])]
    if name == "peers" and results.get("peers"):
        return ["Batches of documents against the strong peers",
                *_peer_lines(results["peers"], c, results.get("step"))]
    if name == "phases" and results.get("phases"):
        part = next(iter(results["phases"].values()))
        return [(f"Where the time goes: batch_loss_and_grads, B={part['batch_size']} documents "
                 f"of T={c['length']}, 1 thread"),
                *_phase_lines(results["phases"], results.get("step"))]
    if name == "memory":
        return ["Memory", *_memory_lines(results["memory"])]
    if name == "scaling" and results.get("scaling"):
        return [(f"Scaling, one thread (dgemm peak "
                 f"{results['scaling']['peak_gflops']:.1f} GFLOP/s)"),
                *_scaling_lines(results["scaling"])]
    if name == "targets" and results.get("targets"):
        return _target_lines(results["targets"])
    return []


def format_report(results):
    """The results of :func:`run_benchmark` as a plain-text report, targets last.

    Parameters
    ----------
    results : dict
        As returned by :func:`run_benchmark`, or the ``results`` of a record
        read by :func:`~normrnn.bench.load_record`; an interrupted run's
        report holds the parts it measured.

    Returns
    -------
    str
        Lines of at most :data:`WIDTH` characters.
    """
    parts = [format_part(results, name) for name in ("machine", *PARTS) if name in results]
    lines = []
    for part in filter(None, parts):
        lines += [*part, ""]
    return "\n".join(line.rstrip() for line in lines[:-1])


def jsonable(results):
    """A copy of ``results`` that :func:`json.dump` accepts (string keys, plain floats).

    Parameters
    ----------
    results : dict
        As returned by :func:`run_benchmark`, or any part of it.

    Returns
    -------
    dict
        The same content with integer keys turned into strings.
    """
    if isinstance(results, dict):
        return {str(k): jsonable(v) for k, v in results.items()}
    if isinstance(results, (list, tuple)):
        return [jsonable(v) for v in results]
    if isinstance(results, np.generic):
        return results.item()
    return results
