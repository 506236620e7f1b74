"""`email-channels serve` as operators run it: N workers on one port, a SIGTERM that drains,
JSON logs in which every line is an object and no secret appears.

Each run's log is kept in RUNS; the last test of the module reads every line of every run.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from email_channels.db.engine import Database
from tests.support.serve_process import (
    CLI,
    HOST,
    Served,
    ServedLog,
    address,
    created_setup,
    new_key,
    serve,
    service_environment,
    stop,
    wait_for_query,
)

LIST_ROUTE = "/v1/{workspace_id}/channels/ses-setup"
DEADLINE_SECONDS = 60.0
RUNS: list[ServedLog] = []


@pytest.fixture
def blackhole() -> Iterator[socket.socket]:
    """A UDP 'nameserver' on loopback that reads queries and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind((HOST, 0))
        yield udp


def request_pids(log: ServedLog) -> set[int]:
    """The processes that wrote an access line of a list request."""
    return {
        int(record["pid"])
        for record in log.requests()
        if record.get("route") == LIST_ROUTE and record.get("method") == "GET"
    }


def counted_lists(served: Served) -> float:
    """email_channels_http_requests_total of the list (GET), over statuses and workers."""
    text = httpx.get(f"{served.base_url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "email_channels_http_requests_total"
        and sample.labels == {**sample.labels, "route": LIST_ROUTE, "method": "GET"}
    )


# -- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({"database_url": "sqlite+aiosqlite:///./never.db"}, "PostgreSQL"),
        (
            {"database_url": "postgresql+asyncpg://postgres@127.0.0.1:5432/none"},
            "sandbox",
        ),
    ],
    ids=["sqlite", "sandbox"],
)
def test_serve_refuses_several_workers_it_cannot_run(
    tmp_path: Path, settings: dict[str, str], said: str
) -> None:
    result = subprocess.run(
        [str(CLI), "serve", "--workers", "2", "--port", "1"],
        cwd=tmp_path,
        env=service_environment(**settings),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
        check=False,
    )

    assert result.returncode != 0
    assert said in result.stderr
    assert "--workers" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "never.db").exists()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_processes_migrating_a_new_database_together_all_succeed(database_url: str) -> None:
    """N hosts starting at once on a new database: each `serve` migrates first."""
    import asyncio

    import asyncpg

    from tests.support.fixtures_api import PG_ADMIN_DSN

    name = f"email_channels_race_{uuid.uuid4().hex[:10]}"
    url = make_url(database_url).set(database=name).render_as_string(hide_password=False)

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        processes = [
            subprocess.Popen(
                [str(CLI), "migrate"],
                env=service_environment(database_url=url),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(4)
        ]
        outputs = [process.communicate(timeout=DEADLINE_SECONDS)[0] for process in processes]
        assert [p.returncode for p in processes] == [0] * 4, b"\n".join(outputs).decode()
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# -- workers and draining -----------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_on_postgresql_answer_from_two_pids_and_sigterm_drains_a_slow_request(
    database_url: str, database: Database, sandbox: Any, blackhole: socket.socket, tmp_path: Path
) -> None:
    secret = new_key(database_url)
    headers = {"Authorization": f"Bearer {secret}"}
    log = tmp_path / "serve.log"
    with serve(
        log,
        "--workers",
        "2",
        secrets=[secret],
        database_url=database_url,
        ses_mode="aws",
        ses_endpoint_url=sandbox.endpoint_url,
        dns_nameservers=address(blackhole),
        dns_timeout="1",
        dns_lifetime="3",
        log_format="json",
        rate_limit="0",
    ) as served:
        RUNS.append(served.log)
        setup = created_setup(served, secret)

        # A new connection per request: the kernel hands each to whichever worker accepts.
        sent = 0
        deadline = time.monotonic() + DEADLINE_SECONDS
        while len(request_pids(served.log)) < 2:
            assert time.monotonic() < deadline, f"one worker answered everything:\n{served.tail()}"
            response = httpx.get(f"{served.base_url}/v1/ws1/channels/ses-setup", headers=headers)
            assert response.status_code == 200
            sent += 1
        assert len(request_pids(served.log)) == 2

        # /metrics, whichever worker answers it, adds up both.
        deadline = time.monotonic() + DEADLINE_SECONDS
        while (counted := counted_lists(served)) < sent:
            assert time.monotonic() < deadline, (counted, sent)
        assert counted == sent

        answers: list[httpx.Response] = []
        slow = threading.Thread(
            target=lambda: answers.append(
                httpx.get(
                    f"{served.base_url}/v1/ws1/channels/ses-setup/{setup['id']}",
                    headers=headers,
                    timeout=DEADLINE_SECONDS,
                )
            )
        )
        slow.start()
        wait_for_query(
            blackhole, within=DEADLINE_SECONDS
        )  # the GET is now waiting on DNS that never answers
        exit_status = stop(served.process)  # SIGTERM
        slow.join(DEADLINE_SECONDS)

    [answer] = answers
    assert answer.status_code == 200, answer.text
    assert {record["status"] for record in answer.json()["dns_records"]} == {"unknown"}
    assert exit_status in (0, -15), served.tail()
    assert served.log.records()  # every line JSON


# -- JSON logs ----------------------------------------------------------------------------


def run_json_traffic(
    tmp_path: Path, sandbox: Any, dns_nameservers: str, *, request_id: str
) -> ServedLog:
    """Serve on SQLite with LOG_FORMAT=json; create, read, fail upstream, 401 and 429."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'email-channels.db'}"
    bogus = f"ec_{uuid.uuid4().hex}{uuid.uuid4().hex}"
    with serve(
        tmp_path / "serve.log",
        database_url=url,
        ses_mode="aws",
        ses_endpoint_url=sandbox.endpoint_url,
        dns_nameservers=dns_nameservers,
        log_format="json",
        rate_limit="6",
    ) as served:
        RUNS.append(served.log)
        secret = new_key(url)
        served.log.secrets += [secret, bogus]
        headers = {"Authorization": f"Bearer {secret}"}
        setup = created_setup(served, secret)
        detail = httpx.get(
            f"{served.base_url}/v1/ws1/channels/ses-setup/{setup['id']}", headers=headers
        )
        assert detail.status_code == 200
        sandbox.add_fault(operation="CreateTenant", error_code="ServiceUnavailable", times=10)
        failed = httpx.post(
            f"{served.base_url}/v1/ws1/channels/ses-setup",
            json={"tenant_name": "fails", "domain_identity": "fails.example.test"},
            headers={**headers, "X-Request-ID": request_id},
            timeout=30,
        )
        assert failed.status_code == 502
        assert failed.headers["X-Request-ID"] == request_id
        unknown = httpx.get(
            f"{served.base_url}/v1/ws1/channels/ses-setup",
            headers={"Authorization": f"Bearer {bogus}"},
        )
        assert unknown.status_code == 401
        statuses = [
            httpx.get(f"{served.base_url}/v1/ws1/channels/ses-setup", headers=headers).status_code
            for _ in range(4)
        ]
        assert statuses[-1] == 429
    return served.log


@pytest.mark.bind
def test_json_logs_are_one_object_per_line_with_the_request_id_on_every_line_of_a_request(
    tmp_path: Path, sandbox: Any, dns_nameservers: str
) -> None:
    log = run_json_traffic(tmp_path, sandbox, dns_nameservers, request_id="trace-me-123")

    records = log.records()  # fails on any line that is not a JSON object
    loggers = {record.get("logger") for record in records}
    assert {"alembic.runtime.migration", "uvicorn.error", "email_channels.access"} <= loggers
    assert "uvicorn.access" not in loggers
    traced = [record for record in records if record.get("request_id") == "trace-me-123"]
    upstream = [r for r in traced if r["logger"] == "email_channels.integrations.ses.client"]
    assert upstream, "the SES adapter's warning lacks the request id"
    assert "ServiceUnavailable" in upstream[0]["event"]
    [access] = [r for r in traced if r["logger"] == "email_channels.access"]
    assert access["status"] == 502
    assert access["route"] == LIST_ROUTE
    assert access["workspace_id"] == "ws1"
    assert uuid.UUID(access["api_key_id"])
    statuses = [r["status"] for r in log.requests() if r["route"] == LIST_ROUTE]
    assert {201, 502, 401, 429} <= set(statuses)


def test_no_line_of_any_served_run_is_other_than_json_or_holds_a_secret(
    tmp_path: Path, sandbox: Any, dns_nameservers: str
) -> None:
    if not any(run.secrets for run in RUNS):  # run alone: make a run of its own
        run_json_traffic(tmp_path, sandbox, dns_nameservers, request_id="alone")
    checked = 0
    for run in RUNS:
        for number, line in enumerate(run.lines(), start=1):
            for secret in run.secrets:
                assert secret not in line, f"{run.path}:{number} holds a secret"
            checked += 1
        run.records()
    assert checked > 0
