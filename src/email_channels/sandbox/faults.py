"""Fault injection: parsed from `POST /_sandbox/faults`, consumed by the next matching calls."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import asdict, dataclass, replace
from typing import Any

DEFAULT_ERROR_CODE = "ServiceUnavailable"
DEFAULT_HTTP_STATUS = 503

_FIELDS = (
    "operation",
    "error_code",
    "http_status",
    "delay_seconds",
    "hang",
    "times",
    "after_apply",
)


@dataclass(frozen=True, slots=True)
class Fault:
    """How the next `times` calls of `operation` misbehave (the sandbox's control routes)."""

    operation: str
    error_code: str | None = DEFAULT_ERROR_CODE
    http_status: int = DEFAULT_HTTP_STATUS
    delay_seconds: float = 0.0
    hang: bool = False
    times: int = 1
    after_apply: bool = False

    def to_json(self) -> dict[str, Any]:
        """The fault as the control API shows it."""
        return asdict(self)


class FaultValidationError(ValueError):
    """The fault body is invalid; `errors` lists (field, message) pairs for the 422 answer."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))
        self.errors = errors


def parse_fault(body: Any, *, operations: Collection[str]) -> Fault:
    """A Fault from the JSON body, or FaultValidationError naming every bad field."""
    if not isinstance(body, dict):
        raise FaultValidationError([("body", "must be a JSON object")])
    errors: list[tuple[str, str]] = [
        (name, "unknown field") for name in body if name not in _FIELDS
    ]
    operation = body.get("operation")
    if not isinstance(operation, str):
        errors.append(("operation", "is required and must be a string"))
    elif operation not in operations:
        errors.append(("operation", f"must be one of {', '.join(sorted(operations))}"))
    error_code = body.get("error_code", DEFAULT_ERROR_CODE)
    if error_code is not None and (not isinstance(error_code, str) or not error_code):
        errors.append(("error_code", "must be a non-empty string or null"))
    http_status = body.get("http_status", DEFAULT_HTTP_STATUS)
    if not _is_int(http_status) or not 400 <= http_status <= 599:
        errors.append(("http_status", "must be an integer from 400 to 599"))
    delay = body.get("delay_seconds", 0)
    if not _is_number(delay) or not math.isfinite(delay) or delay < 0:
        errors.append(("delay_seconds", "must be a number >= 0"))
    times = body.get("times", 1)
    if not _is_int(times) or times < 1:
        errors.append(("times", "must be an integer >= 1"))
    for flag in ("hang", "after_apply"):
        if not isinstance(body.get(flag, False), bool):
            errors.append((flag, "must be a boolean"))
    if errors:
        raise FaultValidationError(errors)
    assert isinstance(operation, str)  # narrowed for mypy: a non-string was reported above
    return Fault(
        operation=operation,
        error_code=error_code,
        http_status=http_status,
        delay_seconds=float(delay),
        hang=body.get("hang", False),
        times=times,
        after_apply=body.get("after_apply", False),
    )


class FaultBook:
    """Pending faults, consumed oldest first per operation."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Queue a fault behind those already pending for its operation."""
        self._faults.append(fault)

    def clear(self) -> None:
        """Forget every pending fault."""
        self._faults.clear()

    def pending(self) -> list[Fault]:
        """The faults not yet used up, oldest first."""
        return list(self._faults)

    def take(self, operation: str) -> Fault | None:
        """The fault that applies to this call of `operation`, counting it as used."""
        for index, fault in enumerate(self._faults):
            if fault.operation == operation:
                if fault.times > 1:
                    self._faults[index] = replace(fault, times=fault.times - 1)
                else:
                    del self._faults[index]
                return fault
        return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
