"""The worker loop: jobs run until stopped, the piece in hand finishes, failures back off."""

from __future__ import annotations

import asyncio

from email_channels.worker.loop import Job, Worker


async def test_stop_lets_the_piece_in_hand_finish_then_ends_every_job() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[str] = []

    async def slow() -> int:
        started.set()
        await release.wait()
        finished.append("slow")
        return 1

    async def idle() -> int:
        return 0

    worker = Worker([Job("slow", slow, every=0.01), Job("idle", idle, every=60)])
    running = asyncio.create_task(worker.run())
    await asyncio.wait_for(started.wait(), timeout=5)
    worker.stop()
    assert not running.done()  # still finishing the piece in hand
    release.set()
    await asyncio.wait_for(running, timeout=5)
    assert finished == ["slow"]


async def test_a_failing_job_does_not_stop_the_others() -> None:
    calls = {"broken": 0, "healthy": 0}
    enough = asyncio.Event()

    async def broken() -> int:
        calls["broken"] += 1
        raise RuntimeError("boom")

    async def healthy() -> int:
        calls["healthy"] += 1
        if calls["healthy"] >= 3:
            enough.set()
        return 0

    worker = Worker([Job("broken", broken, every=0.01), Job("healthy", healthy, every=0.01)])
    running = asyncio.create_task(worker.run())
    await asyncio.wait_for(enough.wait(), timeout=5)
    worker.stop()
    await asyncio.wait_for(running, timeout=5)
    assert calls["broken"] >= 1
