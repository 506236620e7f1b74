"""Input checks and output rendering driven by botocore shapes, as the real service does."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from email_channels.sandbox.errors import SesError


def bad_request(message: str) -> SesError:
    """The BadRequestException SES answers to invalid input."""
    return SesError("BadRequestException", message)


def validate_input(shape: Any, value: Any) -> None:
    """Raise BadRequestException when `value` does not fit the operation's input shape."""
    _check(shape, value, path="")


def querystring_members(
    shape: Any,
    query: Iterable[tuple[str, str]],
    *,
    legacy: Iterable[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The input members the model places in the query string, typed as their shapes say.

    `legacy`: (member, parameter) pairs an older model placed there (a legacy route's).
    """
    values: dict[str, list[str]] = {}
    for name, value in query:
        values.setdefault(name, []).append(value)
    placed = {
        name: member.serialization.get("name", name)
        for name, member in shape.members.items()
        if member.serialization.get("location") == "querystring"
    }
    placed.update(legacy)
    members: dict[str, Any] = {}
    for name, parameter in placed.items():
        member = shape.members[name]
        # botocore repeats the parameter for a list: ?TagKeys=a&TagKeys=b.
        raw = values.get(parameter)
        if raw:
            members[name] = _from_query(member, raw, path=name)
    return members


def render_output(shape: Any, value: Any) -> Any:
    """`value` as the wire JSON of `shape`: only modelled members, timestamps as epoch seconds."""
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        unknown = set(value) - set(shape.members)
        if unknown:
            # A bug in the emulator, not the client's fault: fail loudly in tests.
            raise ValueError(f"{shape.name} has no members {sorted(unknown)}")
        return {
            name: render_output(shape.members[name], member)
            for name, member in value.items()
            if member is not None
        }
    if kind == "list":
        return [render_output(shape.member, item) for item in value]
    if kind == "map":
        return {key: render_output(shape.value, item) for key, item in value.items()}
    if kind == "timestamp":
        return float(value)
    return value


def _from_query(shape: Any, raw: list[str], *, path: str) -> Any:
    kind = shape.type_name
    if kind == "list":
        return [_from_query(shape.member, [item], path=f"{path}[]") for item in raw]
    value = raw[-1]
    if kind in ("integer", "long"):
        try:
            return int(value)
        except ValueError:
            raise bad_request(f"{path} must be an integer") from None
    if kind == "boolean":
        if value not in ("true", "false"):
            raise bad_request(f"{path} must be true or false")
        return value == "true"
    # Strings, and anything else, are left for validate_input to judge.
    return value


def _check(shape: Any, value: Any, *, path: str) -> None:
    kind = shape.type_name
    if kind == "structure":
        _check_structure(shape, value, path=path)
    elif kind == "list":
        if not isinstance(value, list):
            raise bad_request(f"{path} must be a list")
        _check_length(shape, len(value), path=path, unit="items")
        for index, item in enumerate(value):
            _check(shape.member, item, path=f"{path}[{index}]")
    elif kind == "map":
        if not isinstance(value, dict):
            raise bad_request(f"{path} must be an object")
        for key, item in value.items():
            _check(shape.key, key, path=f"{path} key")
            _check(shape.value, item, path=f"{path}.{key}")
    elif kind == "string":
        _check_string(shape, value, path=path)
    elif kind in ("integer", "long"):
        _check_integer(shape, value, path=path)
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise bad_request(f"{path} must be a boolean")
    elif kind in ("double", "float", "timestamp") and not _is_number_like(value):
        raise bad_request(f"{path} must be a number")


def _check_structure(shape: Any, value: Any, *, path: str) -> None:
    if not isinstance(value, dict):
        raise bad_request(f"{path or 'The request body'} must be an object")
    for name in shape.required_members:
        if value.get(name) is None:
            raise bad_request(f"{_member_path(path, name)} is required")
    for name, member in value.items():
        # Real AWS ignores members it does not know, so clients with newer models still work.
        if name in shape.members and member is not None:
            _check(shape.members[name], member, path=_member_path(path, name))


def _check_string(shape: Any, value: Any, *, path: str) -> None:
    if not isinstance(value, str):
        raise bad_request(f"{path} must be a string")
    _check_length(shape, len(value), path=path, unit="characters")
    if shape.enum and value not in shape.enum:
        raise bad_request(f"{path} must be one of {', '.join(shape.enum)}, not {value!r}")


def _check_integer(shape: Any, value: Any, *, path: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"{path} must be an integer")
    minimum = shape.metadata.get("min")
    maximum = shape.metadata.get("max")
    if minimum is not None and value < minimum:
        raise bad_request(f"{path} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise bad_request(f"{path} must be at most {maximum}")


def _check_length(shape: Any, length: int, *, path: str, unit: str) -> None:
    minimum = shape.metadata.get("min")
    maximum = shape.metadata.get("max")
    if minimum is not None and length < minimum:
        raise bad_request(f"{path} must have at least {minimum} {unit}")
    if maximum is not None and length > maximum:
        raise bad_request(f"{path} must have at most {maximum} {unit}")


def _member_path(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _is_number_like(value: Any) -> bool:
    # Timestamps may also arrive as ISO 8601 strings.
    return isinstance(value, int | float | str) and not isinstance(value, bool)
