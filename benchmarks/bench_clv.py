"""BG/NBD + Gamma-Gamma fit and prediction time at 1M and 10M customers, against lifetimes.

Customers are the CDNOW cohort's 23,570 calibration summaries tiled to the size wanted, each copy's
first purchase moved back by 0-6 days (so T varies as in a real chain where customers join every
day) and spend kept: a realistic mix of repeated and distinct summaries.

lifetimes 0.11.3 (BetaGeoFitter) runs in its own virtual environment, var/bench-venvs/lifetimes,
created on first use with versions it still works with on Python 3.11 (it is never a dependency of
Clientele). It fits the same 1M customers, read from .npy files.

Run: .venv/bin/python benchmarks/bench_clv.py [--sizes 1000000 10000000] [--skip-lifetimes]
Prints its figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from clientele.forecasting.beta_geo import BetaGeoModel
from clientele.forecasting.cdnow import cdnow_summary
from clientele.forecasting.gamma_gamma import GammaGammaModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import reference_python  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# Versions of lifetimes' dependencies that install and import together on Python 3.11.
LIFETIMES_PINS = [
    "lifetimes==0.11.3",
    "numpy==1.26.4",
    "scipy==1.11.4",
    "pandas==1.5.3",
    "autograd==1.6.2",
    "setuptools<70",  # lifetimes imports pkg_resources
]
LIFETIMES_FIT = """
import sys, time, numpy as np
from lifetimes import BetaGeoFitter
folder = sys.argv[1]
x, t_x, T = (np.load(f"{folder}/{name}.npy") for name in ("frequency", "recency", "T"))
start = time.perf_counter()
model = BetaGeoFitter().fit(x, t_x, T)
print(time.perf_counter() - start)
print(*[model.params_[k] for k in ("r", "alpha", "a", "b")])
"""


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tiled_customers(size: int, seed: int = 0) -> pd.DataFrame:
    """`size` customer summaries tiled from the CDNOW cohort, first purchases jittered by days."""
    cohort = cdnow_summary(sample=False).reset_index(drop=True)
    rng = np.random.default_rng(seed)
    rows = np.resize(np.arange(len(cohort)), size)
    customers = cohort.iloc[rows].reset_index(drop=True)
    customers["T"] = customers["T"].to_numpy() + rng.integers(0, 7, size) / 7.0
    customers.index.name = "customer_id"
    return customers[["frequency", "recency", "T", "monetary_value"]]


def time_clientele(customers: pd.DataFrame) -> dict[str, float]:
    """Seconds to fit BG/NBD and Gamma-Gamma and to predict for every customer."""
    start = time.perf_counter()
    purchases = BetaGeoModel(customers).fit()
    fitted_bgnbd = time.perf_counter()
    spend = GammaGammaModel(customers).fit()
    fitted = time.perf_counter()
    purchases.expected_purchases(t=39)
    purchases.expected_probability_alive()
    spend.expected_customer_lifetime_value(purchases, months=12, monthly_discount_rate=0.01)
    predicted = time.perf_counter()
    return {
        "bgnbd_fit_s": fitted_bgnbd - start,
        "gamma_gamma_fit_s": fitted - fitted_bgnbd,
        "predict_s": predicted - fitted,
        "params": purchases.params_.round(4).to_dict(),
    }


def time_lifetimes(customers: pd.DataFrame) -> tuple[float, str]:
    """Seconds lifetimes' BetaGeoFitter takes on the same customers, and its parameters."""
    with tempfile.TemporaryDirectory() as folder:
        for name in ("frequency", "recency", "T"):
            np.save(f"{folder}/{name}.npy", customers[name].to_numpy(dtype=float))
        done = subprocess.run(
            [reference_python("lifetimes", LIFETIMES_PINS), "-W", "ignore", "-c", LIFETIMES_FIT, folder],
            check=True,
            capture_output=True,
            text=True,
        )
    seconds, params = done.stdout.strip().splitlines()[-2:]
    return float(seconds), params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--skip-lifetimes", action="store_true")
    arguments = parser.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)

    results = {}
    for size in arguments.sizes:
        customers = tiled_customers(size)
        figures = time_clientele(customers)
        results[size] = figures
        print(
            f"clientele {size:>11,} customers: BG/NBD fit {figures['bgnbd_fit_s']:.2f} s, "
            f"Gamma-Gamma fit {figures['gamma_gamma_fit_s']:.2f} s, "
            f"predict (purchases, P(alive), 12-month CLV) {figures['predict_s']:.2f} s, "
            f"peak memory {peak_memory_mb():,.0f} MB; BG/NBD {figures['params']}",
            flush=True,
        )
    if not arguments.skip_lifetimes:
        size = min(arguments.sizes)
        seconds, params = time_lifetimes(tiled_customers(size))
        ratio = seconds / results[size]["bgnbd_fit_s"]
        print(
            f"lifetimes {size:>11,} customers: BetaGeoFitter fit {seconds:.2f} s "
            f"(r alpha a b = {params}); clientele's BG/NBD fit is {ratio:.0f}x faster"
        )


if __name__ == "__main__":
    main()
