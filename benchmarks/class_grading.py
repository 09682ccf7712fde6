"""How long ``normrnn exercise grade`` takes for a class, measured.

``python benchmarks/class_grading.py [--students 120] [--jobs N] [--out runs/class-grading]``

1. Writes a class of generated submissions into ``OUT/submissions``, a third
   of each kind, every student with a file for every exercise:

   * **right**: the reference solution of every exercise
     (``normrnn exercise solution NAME``);
   * **wrong**: right, except three exercises with a known mistake (the bias
     gradient doubled, the activation's ``f'`` left out, the hidden-to-hidden
     gradient of the state not transposed);
   * **crashing**: right, except one exercise that ends its process
     (``os._exit(3)``), one that raises, and one that segfaults.

2. Runs ``normrnn exercise grade OUT/submissions --out OUT/results --jobs N``
   once, as a user would, and times it.

Prints the wall-clock time, the time per student, how many passed of each
kind, the load average before and after (the machine may be shared: other
work makes the time longer), and the command; writes them to
``OUT/timing.json``.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from normrnn.exercises import EXERCISES
from normrnn.exercises.folder import solution_source

KINDS = ("right", "wrong", "crashing")

WRONG = {
    "bias": "import numpy as np\n\ndef bias_backward(delta):\n    return 2 * delta\n",
    "activation": "import numpy as np\n\ndef activation_backward(d_state, middle):\n"
                  "    return d_state.copy()\n",
    "hh": "import numpy as np\n\ndef hh_backward(scaled_hh, state, delta):\n"
          "    return np.outer(delta, state), scaled_hh @ delta\n",
}
CRASHING = {
    "bias": "import os\n\ndef bias_backward(delta):\n    os._exit(3)\n",
    "activation": "def activation_backward(d_state, middle):\n"
                  "    raise RuntimeError('not like this')\n",
    "hh": "import ctypes\n\ndef hh_backward(scaled_hh, state, delta):\n"
          "    return ctypes.string_at(0)\n",
}


def write_class(folder, students):
    """Write ``students`` generated submissions into ``folder``; their kinds, by name."""
    right = {name: solution_source(name) for name in EXERCISES}
    kinds = {}
    for i in range(students):
        kind = KINDS[i % len(KINDS)]
        student = folder / f"{kind}-{i:03d}"
        student.mkdir(parents=True)
        files = {**right, **(WRONG if kind == "wrong" else CRASHING if kind == "crashing"
                             else {})}
        for name, text in files.items():
            (student / f"{name}.py").write_text(text)
        kinds[student.name] = kind
    return kinds


def passed_by_kind(results, kinds):
    """Kind -> [exercises passed, exercises graded], from ``grades.csv``."""
    import csv
    counts = {kind: [0, 0] for kind in KINDS}
    with open(results / "grades.csv", newline="") as f:
        for row in csv.DictReader(f):
            count = counts[kinds[row["student"]]]
            count[0] += row["passed"] == "yes"
            count[1] += 1
    return counts


def main(argv=None):
    """Generate the class, grade it once, print and write the timing; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=120)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--out", type=Path, default=Path("runs/class-grading"))
    args = parser.parse_args(argv)
    if args.out.exists():
        shutil.rmtree(args.out)
    submissions, results = args.out / "submissions", args.out / "results"
    kinds = write_class(submissions, args.students)
    command = ["normrnn", "exercise", "grade", str(submissions), "--out", str(results),
               "--jobs", str(args.jobs)]
    load_before = os.getloadavg()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "normrnn", *command[1:]],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    load_after = os.getloadavg()
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return done.returncode
    report = {"command": " ".join(command), "students": args.students, "jobs": args.jobs,
              "cores": os.cpu_count(), "seconds": round(seconds, 1),
              "seconds_per_student": round(seconds / args.students, 2),
              "load_average_before": [round(x, 2) for x in load_before],
              "load_average_after": [round(x, 2) for x in load_after],
              "passed": {kind: f"{p} of {n}" for kind, (p, n) in
                         passed_by_kind(results, kinds).items()}}
    print(json.dumps(report, indent=2))
    (args.out / "timing.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
