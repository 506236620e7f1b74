"""email-channels: workspace email channels on Amazon SES."""

__version__ = "0.1.0"
