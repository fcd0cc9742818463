"""What the till's rate limit adds to each call: `rate_limit.check` against the Redis on
127.0.0.1:6379, timed over --calls calls of one key (the limit set above them), with a digest of
the key as in production. Compare with the checkout's p50 (docs/benchmarks.md).

Run: PYTHONPATH=src .venv/bin/python benchmarks/bench_rate_limit.py [--calls 20000]
Prints its figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    os.environ["CLIENTELE_REDIS_URL"] = "redis://127.0.0.1:6379/14"
    os.environ["CLIENTELE_TILL_RATE_LIMIT"] = str(args.calls * 10)
    from clientele.loyalty import rate_limit

    key = "clt_bench000_" + "x" * 43
    times = []
    for _ in range(args.calls):
        started = time.perf_counter()
        rate_limit.check(key)
        times.append(time.perf_counter() - started)
    times.sort()
    print(f"rate limit check, {args.calls:,} calls: p50 {statistics.median(times) * 1e3:.3f} ms, "
          f"p99 {times[int(len(times) * 0.99)] * 1e3:.3f} ms, mean {statistics.fmean(times) * 1e3:.3f} ms; "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
