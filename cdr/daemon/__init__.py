"""The drop-folder side of the appliance: `cdr watch` (the daemon), `cdr batch` and `cdr status`.

A dropped file is found (watcher, inbox), waited for until it is completely written
(settle), claimed into the spool exactly once (claim), run to its end (jobs), retried with
back-off when the appliance fails it (retry), and counted for `cdr status` (counters,
status). service wires these with worker threads, signals and shutdown; batch is one pass
of the same steps.
"""
