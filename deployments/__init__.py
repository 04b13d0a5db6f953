"""labflows deployments, the Python side of ``prefect.yaml``.

* :mod:`deployments.schedules`: schedule examples (a workflow for a fixed job every night).
* :mod:`deployments.serve`: ``python -m deployments.serve`` serves the flows from one process,
  a quick local set-up without a work pool or worker.
"""
