"""The emulator's ASGI app: SES v2 REST-JSON routes beside the `/_sandbox` control routes."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from email_channels.sandbox.account import Quotas
from email_channels.sandbox.dns_status import IdentityDnsProbe
from email_channels.sandbox.errors import SesError, error_response, json_response
from email_channels.sandbox.faults import Fault, FaultValidationError, parse_fault
from email_channels.sandbox.regions import signing_region
from email_channels.sandbox.reputation_control import parse_reputation_change
from email_channels.sandbox.runtime import SandboxRuntime
from email_channels.sandbox.service_model import ResolvedRequest
from email_channels.sandbox.shapes import (
    bad_request,
    querystring_members,
    render_output,
    validate_input,
)

logger = logging.getLogger(__name__)

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def create_sandbox_app(
    *,
    state_path: str | None,
    region: str = "us-east-1",
    account_id: str = "000000000000",
    quotas: Quotas | None = None,
    dns_nameservers: Sequence[tuple[str, int]] | None = None,
) -> Starlette:
    """The SES v2 emulator as an ASGI app; `state_path=None` keeps its state in memory.

    `dns_nameservers`: where GetEmailIdentity looks up DKIM and MAIL FROM records (empty:
    the system resolver; None: no lookups, every status stays PENDING, for tests that must
    not query any resolver but their own).
    """
    runtime = SandboxRuntime.create(
        state_path=state_path, region=region, account_id=account_id, quotas=quotas or Quotas()
    )
    probe = None if dns_nameservers is None else IdentityDnsProbe(nameservers=dns_nameservers)

    async def add_fault(request: Request) -> Response:
        try:
            fault = parse_fault(await _json_body(request), operations=runtime.model.operation_names)
        except (FaultValidationError, SesError) as exc:
            return _invalid(exc, what="fault")
        runtime.faults.add(fault)
        return json_response(fault.to_json(), status=201)

    async def list_faults(request: Request) -> Response:
        # Beyond the contract: lets tests wait until a request has consumed its fault.
        return json_response({"faults": [fault.to_json() for fault in runtime.faults.pending()]})

    async def clear_faults(request: Request) -> Response:
        runtime.faults.clear()
        return Response(status_code=204)

    async def show_state(request: Request) -> Response:
        # Every region's resources; `?region=` narrows it to one (the shape stays the same).
        return json_response(runtime.summary(region=request.query_params.get("region")))

    async def change_reputation(request: Request) -> Response:
        try:
            change = parse_reputation_change(
                await _json_body(request), default_region=runtime.account.region
            )
        except (FaultValidationError, SesError) as exc:
            return _invalid(exc, what="reputation change")
        try:
            await runtime.control("SetSesManagedStatus", change, region=change["region"])
        except SesError as exc:
            return json_response({"message": exc.message}, status=404)
        return Response(status_code=204)

    async def reset(request: Request) -> Response:
        await runtime.reset()
        return Response(status_code=204)

    async def ses_operation(request: Request) -> Response:
        return await _serve_ses(runtime, request, probe)

    app = Starlette(
        routes=[
            Route("/_sandbox/faults", add_fault, methods=["POST"]),
            Route("/_sandbox/faults", list_faults, methods=["GET"]),
            Route("/_sandbox/faults", clear_faults, methods=["DELETE"]),
            Route("/_sandbox/state", show_state, methods=["GET"]),
            Route("/_sandbox/reset", reset, methods=["POST"]),
            Route("/_sandbox/reputation", change_reputation, methods=["POST"]),
            # Everything else is an SES call; the botocore model, not Starlette, routes it.
            Route("/{path:path}", ses_operation, methods=_ALL_METHODS),
        ]
    )
    app.state.sandbox = runtime
    return app


async def _serve_ses(
    runtime: SandboxRuntime, request: Request, probe: IdentityDnsProbe | None
) -> Response:
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    resolved = runtime.model.resolve(request.method, raw_path)
    if resolved is None:
        message = f"No SES v2 operation of this sandbox serves {request.method} {request.url.path}"
        return error_response(SesError("UnknownOperationException", message), status=404)
    # Each region is its own SES, told apart by the region the request was signed for.
    region = signing_region(request.headers.get("authorization")) or runtime.account.region
    try:
        return await _call(runtime, resolved, request, probe, region=region)
    except SesError as exc:
        status = exc.status if exc.status is not None else runtime.model.error_status(exc.code)
        return error_response(exc, status=status)
    except Exception:
        logger.exception("sandbox failed on %s", resolved.operation.name)
        failure = SesError("InternalFailure", "The sandbox failed; see its log.")
        return error_response(failure, status=500)


async def _call(
    runtime: SandboxRuntime,
    resolved: ResolvedRequest,
    request: Request,
    probe: IdentityDnsProbe | None,
    *,
    region: str,
) -> Response:
    # A request that fails validation is answered before any fault is consumed.
    operation = resolved.operation
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    query = querystring_members(
        operation.input_shape, request.query_params.multi_items(), legacy=resolved.querystring
    )
    parameters = {**body, **query, **resolved.uri_params}
    validate_input(operation.input_shape, parameters)
    fault = runtime.faults.take(operation.name)
    if fault is None:
        output = await runtime.apply(operation.name, parameters, region=region)
        if operation.name == "GetEmailIdentity" and probe is not None:
            # Like SES, the verdict follows what DNS shows (looked up outside the handler).
            output = await probe.overlay(output, domain=parameters["EmailIdentity"], region=region)
        return _ok(operation, output)
    return await _call_with_fault(runtime, request, fault, operation, parameters, region=region)


async def _call_with_fault(
    runtime: SandboxRuntime,
    request: Request,
    fault: Fault,
    operation: Any,
    parameters: dict[str, Any],
    *,
    region: str,
) -> Response:
    # The order of steps is the contract: apply first only for after_apply, then hang or delay,
    # then apply (when no error is due and it has not run yet), then answer.
    output: dict[str, Any] | None = None
    if fault.after_apply:
        output = await runtime.apply(operation.name, parameters, region=region)
    if fault.hang:
        await _hang(runtime, request)
        # Only a client still waiting when the server stops reads this; others are gone.
        raise SesError("ServiceUnavailable", "The sandbox is shutting down.", status=503)
    await runtime.pause(fault.delay_seconds)
    if fault.error_code is not None:
        raise SesError(
            fault.error_code, f"Injected fault: {fault.error_code}", status=fault.http_status
        )
    if output is None:
        output = await runtime.apply(operation.name, parameters, region=region)
    return _ok(operation, output)


async def _hang(runtime: SandboxRuntime, request: Request) -> None:
    """Never answer: wait until the client goes away or the server shuts down."""

    async def client_gone() -> None:
        # Once the body is read, the server's next message is the disconnect.
        while (await request.receive())["type"] != "http.disconnect":
            pass

    waiters = {asyncio.ensure_future(client_gone()), asyncio.ensure_future(runtime.wait_closing())}
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _json_body(request: Request) -> Any:
    body = await request.body()
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except ValueError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}") from exc


def _ok(operation: Any, output: dict[str, Any]) -> Response:
    shape = operation.output_shape
    return json_response(render_output(shape, output) if shape is not None else {})


def _invalid(exc: FaultValidationError | SesError, *, what: str) -> Response:
    if isinstance(exc, SesError):
        errors = [{"field": "body", "message": exc.message}]
    else:
        errors = [{"field": field, "message": message} for field, message in exc.errors]
    detail = "; ".join(f"{error['field']}: {error['message']}" for error in errors)
    return json_response({"message": f"Invalid {what}: {detail}", "errors": errors}, status=422)
