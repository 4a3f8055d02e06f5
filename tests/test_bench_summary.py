"""scripts/bench's summary: resend's share of the framework ceiling, and when it is only an upper
bound (the framework kept up with every rate it was offered); what the whole machine spent per
request answered."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "scripts" / "bench"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("bench_script", str(BENCH))
    spec = importlib.util.spec_from_loader("bench_script", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _phase(offered: float, throughput: float, **extra: Any) -> dict[str, Any]:
    return {
        "offered_rate": offered,
        "throughput": throughput,
        "p50_ms": 1.0,
        "p90_ms": 2.0,
        "p99_ms": 3.0,
        "max_ms": 4.0,
        "sms_per_s": None,
        "other_status": {},
        "transport_errors": {},
        "too_many_requests": 0,
        "server": [],
        **extra,
    }


def _round(resend: float, framework: float, *, lower_bound: bool) -> dict[str, Any]:
    return {
        "database": "sqlite",
        "cold_start_s": 0.8,
        "phases": {
            "resend_saturation": [_phase(3000, resend)],
            "framework_saturation": [_phase(3000, framework, lower_bound=lower_bound)],
        },
    }


def test_share_of_the_framework_ceiling(bench: ModuleType) -> None:
    summary = bench.medians(
        [
            _round(1000, 3000, lower_bound=False),
            _round(1100, 2800, lower_bound=False),
            _round(900, 3200, lower_bound=False),
        ]
    )
    share = summary["sqlite"]["resend_share_of_framework_ceiling"]
    # Medians of the rounds: 1,000 resends a second against a ceiling of 3,000.
    assert share == {
        "resend_per_s": 1000,
        "framework_per_s": 3000,
        "framework_is_lower_bound": False,
        "share": 0.333,
    }


def test_a_ceiling_that_kept_up_is_flagged(bench: ModuleType) -> None:
    summary = bench.medians(
        [_round(1000, 3000, lower_bound=False), _round(1000, 3000, lower_bound=True)]
    )
    assert summary["sqlite"]["resend_share_of_framework_ceiling"]["framework_is_lower_bound"]


def test_rounds_that_found_the_ceiling_at_different_offers(bench: ModuleType) -> None:
    doubled = _round(1000, 4000, lower_bound=False)
    doubled["phases"]["framework_saturation"][0]["offered_rate"] = 6000
    summary = bench.medians([_round(1000, 2900, lower_bound=False), doubled])
    share = summary["sqlite"]["resend_share_of_framework_ceiling"]
    assert (share["framework_per_s"], share["share"]) == (4000, 0.25)


def test_no_share_without_both_phases(bench: ModuleType) -> None:
    only_resend = _round(1000, 3000, lower_bound=False)
    del only_resend["phases"]["framework_saturation"]
    summary = bench.medians([only_resend])
    assert "resend_share_of_framework_ceiling" not in summary["sqlite"]


def test_machine_cpu_per_request_inside_the_window(bench: ModuleType) -> None:
    # Readings every 0.5 s from 0 to 4 s; the window is [1, 3]: busy 1.2 -> 3.6 s, 2.4 s in 2 s.
    machine = [(t / 2, 0.6 * t) for t in range(9)]
    machine.append((3.2, None))  # a reading that failed is skipped
    # 100 requests answered inside [1, 3] (start + latency), 10 outside it.
    samples = [(1.0 + i * 0.0199, 0.001, 200) for i in range(100)]
    samples += [(0.2 + i * 0.05, 0.001, 200) for i in range(10)]
    cpu = bench.machine_cpu(samples, machine, 1.0, 3.0)
    assert cpu == {"machine_cpu_cores": 1.2, "machine_cpu_ms_per_request": 24.0}


def test_no_machine_cpu_without_two_readings(bench: ModuleType) -> None:
    cpu = bench.machine_cpu([(1.5, 0.001, 200)], [(1.5, 3.0), (5.0, 4.0)], 1.0, 3.0)
    assert cpu == {"machine_cpu_cores": None, "machine_cpu_ms_per_request": None}
