"""Reading a benchmark record: a run kept in a file, with the command and the machine that made it.

The docs' performance page shows a recorded run rather than timing the
machine that happens to build the docs.  ``python benchmarks/record.py`` (in
a clone) runs ``normrnn bench --scaling --json`` in a fresh process and
writes its JSON, wrapped with the exact command, the date, the commit and
the machine; :func:`load_record` reads such a file back into the form
:func:`~normrnn.bench.format_report` and :func:`~normrnn.bench.plot_results`
take.
"""

import json


def restore(results):
    """Undo :func:`~normrnn.bench.jsonable`'s one change: integer keys made strings.

    Parameters
    ----------
    results : dict or list or scalar
        Results read back from JSON, or any part of them.

    Returns
    -------
    dict or list or scalar
        The same content, with keys made of digits turned back into ``int``
        (the thread counts of the thread benchmark).
    """
    if isinstance(results, dict):
        return {(int(k) if isinstance(k, str) and k.isdigit() else k): restore(v)
                for k, v in results.items()}
    if isinstance(results, list):
        return [restore(v) for v in results]
    return results


def load_record(path):
    """Read a file written by :func:`record`.

    Parameters
    ----------
    path : str
        The JSON file.

    Returns
    -------
    dict
        As written, with ``results`` restored (:func:`restore`) so that
        :func:`~normrnn.bench.format_report` and
        :func:`~normrnn.bench.plot_results` accept it; in a record made
        before the strong peers, the peers' rows are named for what they
        timed (:data:`EARLIER_PEERS`), none of them a strong peer.
    """
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    missing = {"command", "recorded_utc", "platform", "results"} - set(data)
    if missing:
        raise ValueError(f"path: {path!r} is not a benchmark record "
                         f"(missing {', '.join(sorted(missing))})")
    data["results"] = restore(data["results"])
    _rename_earlier_peers(data["results"].get("peers"))
    return data


#: The peers of records made before the strong ones, and what they were: the package's
#: general bridge, eager and compiled with dynamic shapes, and JAX with padding and masks.
EARLIER_PEERS = {"torch_batched": "bridge", "torch_compile": "bridge_compile",
                 "jax": "jax_masked"}


def _rename_earlier_peers(peers):
    """Give the rows of a record made before the strong peers the names of what they timed."""
    if not peers or "torch_batched" not in peers["peers"]:
        return
    peers["peers"] = [EARLIER_PEERS.get(n, n) for n in peers["peers"]]
    for dtype in ("float64", "float32"):
        for group in peers.get(dtype, {}).values():
            group["rows"] = {EARLIER_PEERS.get(n, n): row for n, row in group["rows"].items()}


def describe_record(data):
    """Where a record comes from, in a few lines: command, date, commit, machine.

    Parameters
    ----------
    data : dict
        As returned by :func:`load_record`.

    Returns
    -------
    str
    """
    machine = data["results"]["machine"]
    commit = f" at commit {data['commit']}" if data.get("commit") else ""
    family = (f" (family {machine['cpu_family']}, model {machine['cpu_model']}, "
              f"{machine['vector_level']})" if machine.get("vector_level") else "")
    return "\n".join([
        f"$ {data['command']}",
        f"recorded {data['recorded_utc']}{commit}",
        f"on {machine['cpu']}{family}, {machine['cores']} cores, {data['platform']}",
    ])
