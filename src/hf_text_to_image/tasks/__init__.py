"""Engine tasks: the bounded board of tasks, the worker pool and the per-task pipeline."""
