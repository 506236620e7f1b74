"""SES emulator fixtures (filled in by the sandbox work)."""
