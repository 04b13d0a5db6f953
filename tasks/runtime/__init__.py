"""What both wings share: the run logger, streamed subprocesses, executors, task runners."""
