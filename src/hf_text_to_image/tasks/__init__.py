"""Engine tasks: the task store (in memory or Redis), the worker pool and the per-task pipeline."""
