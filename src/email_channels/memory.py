"""What a long-lived process does once its start-up is done: keep what it built out of the
garbage collector's reach, and give the C heap's freed pages back (the API and `sandbox serve`).
"""

from __future__ import annotations

import gc

M_ARENA_MAX = -8  # glibc's mallopt parameter: the most malloc arenas a process may have


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


def limit_heap_arenas() -> None:
    """One C heap for every thread of the process, where the C library can (glibc's
    `mallopt(M_ARENA_MAX, 1)`); elsewhere, nothing. Called before any thread starts.

    glibc gives each thread that mallocs its own arena, kept for the life of the process with
    whatever that thread left in it. The API's threads are few and brief (aiobotocore builds
    its TLS context in one, the metrics page renders in one), and its event loop holds the
    GIL for nearly all the rest, so one shared arena costs no contention; it saved about
    0.7 MB of the API process after S3's creates (bench/README.md, S5).
    """
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (ImportError, OSError, AttributeError):  # no ctypes, or not glibc
        return
    mallopt(M_ARENA_MAX, 1)
