"""BIND 9 fixtures (filled in by the DNS work)."""
