"""`memory.return_free_heap` hands the pages of freed C-heap memory back to the system."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

SCRIPT = """
import gc
from email_channels.memory import return_free_heap

def resident_kb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

# 40 MB in chunks that malloc serves from its heap (below its mmap threshold), then one
# chunk after them, so that freeing them cannot simply shrink the heap from its top.
chunks = [bytes(2000) + bytes([i % 256]) for i in range(20_000)]
pin = bytes(2000) + b"pin"
before = resident_kb()
del chunks
gc.collect()
freed = resident_kb()
return_free_heap()
print(before, freed, resident_kb())
"""


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="malloc_trim is glibc's",
)
def test_freed_heap_memory_leaves_the_resident_set() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    before, freed, trimmed = (int(kb) for kb in result.stdout.split())
    assert freed > before - 10_000  # freeing alone leaves most of the 40 MB resident
    assert trimmed < freed - 30_000  # the call gives at least 30 MB of it back


def test_without_glibc_it_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes

    from email_channels.memory import return_free_heap

    def no_library(*_: object) -> object:
        raise OSError("no such library")

    monkeypatch.setattr(ctypes, "CDLL", no_library)
    return_free_heap()
