"""The background worker: a claim loop and its jobs."""
