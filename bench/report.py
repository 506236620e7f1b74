"""The benchmark's results: one table for people, one JSON document for tools."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.load import LoadResult

SERVER_LABELS = {
    "service": "service (FastAPI + SQLAlchemy)",
    "baseline": "baseline (asyncpg + Starlette)",
}


@dataclass(frozen=True, slots=True)
class Measurement:
    """One load run: which server, which page, what it saw."""

    server: str  # "service" | "baseline"
    page: str  # "first" | "deep"
    load_before: float  # 1-minute load average just before the run
    result: LoadResult

    @property
    def server_cpu_ms_per_request(self) -> float | None:
        """The server's CPU time per answered request: its cost, less sensitive to idle CPUs."""
        result = self.result
        if result.server_cpu is None or not result.requests:
            return None
        return round(result.server_cpu * result.seconds * 1000.0 / result.requests, 3)


@dataclass(slots=True)
class Report:
    client: str
    setups: int
    other_setups: int
    concurrency: int
    warmup: float
    duration: float
    deep_page_number: int | None
    measurements: list[Measurement] = field(default_factory=list)
    # S1b: the service's first and deep pages loaded side by side, half the connections each
    side_by_side: LoadResult | None = None

    def side_by_side_p50s(self) -> tuple[float | None, float | None]:
        """(first page p50, deep page p50) of the side-by-side run, in ms."""
        p50s = self.side_by_side.p50_ms_by_url if self.side_by_side is not None else []
        return (p50s[0], p50s[1]) if len(p50s) == 2 else (None, None)

    def find(self, server: str, page: str) -> Measurement | None:
        for measurement in self.measurements:
            if measurement.server == server and measurement.page == page:
                return measurement
        return None

    def ratios(self) -> dict[str, dict[str, float | None]]:
        """Per page, service over baseline: requests/s (1.0 = as fast), CPU per request (1.0 =
        as cheap; 5.0 = five times the CPU for one answer)."""
        ratios: dict[str, dict[str, float | None]] = {}
        for page in ("first", "deep"):
            service, baseline = self.find("service", page), self.find("baseline", page)
            if service is None or baseline is None:
                continue
            ratios[page] = {
                "throughput": _share(
                    service.result.requests_per_second, baseline.result.requests_per_second
                ),
                "cpu_per_request": _share(
                    service.server_cpu_ms_per_request, baseline.server_cpu_ms_per_request
                ),
            }
        return ratios

    def as_json(self) -> dict[str, Any]:
        return {
            "config": {
                "setups": self.setups,
                "other_workspaces_setups": self.other_setups,
                "client": self.client,
                "concurrency": self.concurrency,
                "warmup_seconds": self.warmup,
                "duration_seconds": self.duration,
                "limit": 20,
                "deep_page_number": self.deep_page_number,
            },
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "measurements": [
                {
                    **asdict(measurement),
                    "server_cpu_ms_per_request": measurement.server_cpu_ms_per_request,
                }
                for measurement in self.measurements
            ],
            "service_over_baseline": self.ratios(),
            "service_first_and_deep_side_by_side": (
                asdict(self.side_by_side) if self.side_by_side is not None else None
            ),
        }


def _share(part: float | None, whole: float | None) -> float | None:
    return None if part is None or not whole else round(part / whole, 3)


def write_json(report: Report | None, path: Path, *, targets: list[dict[str, Any]]) -> None:
    """The S1 measurements (when S1 ran) and every target's figure, for machines."""
    document = {**(report.as_json() if report is not None else {}), "targets": targets}
    path.write_text(json.dumps(document, indent=2) + "\n")


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def render_table(report: Report) -> str:
    """The results as a fixed-width table, with the ratios under it."""
    deep = f"page {report.deep_page_number}" if report.deep_page_number else "none"
    lines = [
        f"GET /v1/{{ws}}/channels/ses-setup?limit=20: {report.setups} setups in the workspace, "
        f"{report.other_setups} in others; deep page: {deep}",
        f"{report.concurrency} concurrent requests ({report.client} client), "
        f"{report.duration:g} s measured after {report.warmup:g} s warm-up; "
        f"{os.cpu_count()} CPUs",
        "",
    ]
    header: tuple[str, ...] = (
        "server",
        "page",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "srv CPU",
    )
    header += ("ms/req", "gen CPU", "load")
    widths = (31, 5, 8, 7, 7, 7, 6, 7, 6, 7, 5)
    lines.append(_row(header, widths))
    lines.append(_row(tuple("-" * width for width in widths), widths))
    for measurement in report.measurements:
        result = measurement.result
        cells = (
            SERVER_LABELS.get(measurement.server, measurement.server),
            measurement.page,
            _number(result.requests_per_second),
            _number(result.p50_ms, 2),
            _number(result.p95_ms, 2),
            _number(result.p99_ms, 2),
            str(result.errors),
            _percent(result.server_cpu),
            _number(measurement.server_cpu_ms_per_request, 2),
            _percent(result.client_cpu),
            _number(measurement.load_before, 2),
        )
        lines.append(_row(cells, widths))
    lines.append("")
    for page, ratio in report.ratios().items():
        lines.append(
            f"service / baseline, {page} page: {_number(ratio['throughput'], 2)} x the "
            f"requests/s, {_number(ratio['cpu_per_request'], 2)} x the CPU per request"
        )
    first_p50, deep_p50 = report.side_by_side_p50s()
    if first_p50 is not None and deep_p50 is not None:
        lines.append(
            f"service, first and deep page side by side ({report.concurrency // 2} connections "
            f"each, S1b): p50 {first_p50:.2f} ms and {deep_p50:.2f} ms"
        )
    samples = [
        f"  {m.server} {m.page}: {sample}"
        for m in report.measurements
        for sample in m.result.error_samples
    ]
    if samples:
        lines += ["", "errors seen:", *samples]
    lines += [
        "",
        "srv CPU: the server process's CPU time over the window (100% = one core, the most one",
        "worker can use); ms/req: that CPU time per answered request; gen CPU: the load",
        "generator's CPU; load: the 1-minute load average before the run.",
    ]
    return "\n".join(lines)


def _row(cells: tuple[str, ...], widths: tuple[int, ...]) -> str:
    first, *rest = zip(cells, widths, strict=True)
    text = first[0].ljust(first[1])
    return " ".join([text, *(cell.rjust(width) for cell, width in rest)])
