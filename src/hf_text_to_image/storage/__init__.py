"""Where a task's files live: the engine's storage URL or its S3 bucket."""
