"""Files that are never half-written and never written twice at once.

Utilities of no particular kind of file, used by the checkpoints, the loss
plots and the command line alike:

* :mod:`normrnn.files.atomic`: atomic writes (a temporary name, then a rename),
  guarded replacement (``may_replace``), the clean-up of a killed writer's
  temporary files, and whether a path can be written;
* :mod:`normrnn.files.rescue`: a save that fails is retried, then written to
  a fallback path;
* :mod:`normrnn.files.output_lock`: one run per output, a lock held for the
  whole run.
"""
