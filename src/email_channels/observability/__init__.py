"""Operations: logging set-up, request ids, metrics and readiness."""
