"""Real concurrent clients for the tests: calls made at the same moment, one thread each."""

from __future__ import annotations

import threading

from django.db import connections


def run_together(calls: list) -> list:
    """Run the calls at the same moment, one thread (and database connection) each; their results."""
    start = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(index: int, call) -> None:
        try:
            start.wait()
            results[index] = call()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
