"""The background worker: a claim loop and its jobs (DESIGN.md section 8)."""
