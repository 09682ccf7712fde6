"""Grade one exercise in a process of its own: ``python -m normrnn.exercises.child``.

Arguments: FOLDER SEED MEMORY NAME [NAME ...].  Prints each grade as one JSON
line on stdout as soon as it is known (so that the parent knows which exercise
was running if the process dies); everything the learner's code prints goes to stderr.  The process
limits its own address space to what it holds after the imports plus MEMORY
bytes, so a huge allocation raises ``MemoryError`` (a failing grade) rather
than drawing the operating system's out-of-memory killer.
"""

import json
import os
import sys


def _limit_memory(extra):
    try:
        import resource
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[0])
        current = pages * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = current + extra
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError):
        pass                          # not Linux: the parent's time limit still holds


def main(argv):
    """Grade ``argv = [folder, seed, memory, *names]``; print the JSON lines; return 0."""
    folder, seed, memory, *names = argv
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)                     # the learner's prints go to stderr
    from normrnn.exercises import guard
    from normrnn.exercises.grading import Grade, grade
    from normrnn.exercises.loader import load_solution
    _limit_memory(int(memory))
    for name in names:
        try:
            fn = load_solution(folder, name)
        except guard.Failure as failure:
            result = Grade(name, False, message=str(failure))
        else:
            result = grade(name, fn, seed=int(seed))
        out.write(json.dumps(result.to_dict()) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
