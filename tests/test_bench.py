"""The bench's verdicts (benchmarks/boot.py): what it calls PASS, MISS or unresolved, on
made-up timings and counts (the timings themselves are machine facts, never asserted here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, List

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench_boot", ROOT / "benchmarks" / "boot.py")
assert _spec is not None and _spec.loader is not None
boot: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(boot)


def _cmd(label: str, cpu: List[float], user: float = 0.8) -> Any:
    """A command that ran with these CPU times, ``user`` of each in user space."""
    cmd = boot.Cmd(label, "pass")
    cmd.cpu = list(cpu)
    cmd.user = [t * user for t in cpu]
    return cmd


def _runs(median: float, spread: float, n: int = 40) -> List[float]:
    """n timings around ``median``, a tenth of them ``spread`` ms above it (the p90 side)."""
    return [median] * (n - n // 10 - 1) + [median + spread] * (n // 10 + 1)


def test_a_clock_verdict_needs_the_noise_on_one_side_of_the_budget() -> None:
    base = _cmd("a", _runs(300.0, 1.0))
    assert boot.whole_process_verdict(base, _cmd("b", _runs(303.0, 1.0)), 5.0, 1.03) is True
    assert boot.whole_process_verdict(base, _cmd("b", _runs(320.0, 1.0)), 5.0, 1.03) is False
    noisy = boot.whole_process_verdict(base, _cmd("b", _runs(303.0, 60.0)), 5.0, 1.03)
    assert isinstance(noisy, str) and noisy.startswith("UNRESOLVED (+3.0 +/- ")
    # the tighter of the two budgets: 3% of 100 ms is 3 ms
    small = _cmd("a", _runs(100.0, 0.1))
    assert boot.whole_process_verdict(small, _cmd("b", _runs(104.0, 0.1)), 5.0, 1.03) is False


def test_an_instruction_verdict_reads_the_ratio_and_the_ms_at_the_baseline_s_speed() -> None:
    base, guard = _cmd("a", _runs(312.5, 1.0)), _cmd("b", _runs(999.0, 1.0))
    counts = {"a": [(1000_000_000, 0)] * 3}  # 4M instructions per user ms (250 of 312.5 ms)
    text, ok = boot.instruction_budget(
        {**counts, "b": [(1010_000_000, 0)] * 3}, base, guard, 5, 1.03
    )
    assert ok is True and text.startswith(
        "ratio 1.010; +10.0M instructions, 2.5 ms at this run's 4.00M"
    )
    text, ok = boot.instruction_budget(
        {**counts, "b": [(1024_000_000, 0)] * 3}, base, guard, 5, 1.03
    )
    assert ok is False and "6.0 ms" in text  # within 3%, over 5 ms
    text, ok = boot.instruction_budget(
        {**counts, "b": [(1040_000_000, 0)] * 3}, base, guard, 50, 1.03
    )
    assert ok is False and text.startswith("ratio 1.040")  # within 50 ms, over 3%
    assert boot.instruction_budget(counts, base, guard, 5, 1.03)[1] == "NOT COUNTED"
    assert boot.verdict(True) == "PASS" and boot.verdict(False) == "MISS"
