"""Operations: logging set-up, request ids, metrics and readiness (DESIGN.md section 10)."""
