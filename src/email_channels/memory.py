"""What a long-lived process does once its start-up is done: keep what it built out of the
garbage collector's reach, and give the C heap's freed pages back (the API and `sandbox serve`).
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Move what start-up built (modules, models, clients) out of the garbage collector's reach.

    Those objects live as long as the process; without this, every full collection walks
    them again, a pause of several milliseconds that lands on whatever request is running.
    In S4 (bench/README.md) it took the list's p99 beside 200 slow reads from 28-30 ms to
    18-19 ms. Objects made later are collected as before.
    """
    gc.collect()
    gc.freeze()
    return_free_heap()


def return_free_heap() -> None:
    """Give the C heap's free pages back to the system, where the C library can (glibc's
    `malloc_trim`); elsewhere, nothing.

    Start-up frees large temporaries, botocore's endpoint table and most of the SES model
    among them. glibc keeps the pages of what is freed below the top of its heap, so without
    this they stay resident: about 2 MB of the API process (bench/README.md, S5).
    """
    try:
        import ctypes

        trim = ctypes.CDLL(None).malloc_trim
    except (ImportError, OSError, AttributeError):  # no ctypes, or not glibc
        return
    trim(0)
