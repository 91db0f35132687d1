#!/usr/bin/env python3
"""Fails when the hot path's instructions per request grow more than 10% over the committed
baseline (issue 8). Counts with callgrind, which is exact and repeatable whatever else the
machine is doing, unlike wall time.

Usage: check_instructions.py DRIVER BASELINE_FILE [--update]
"""
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REQUESTS_SMALL, REQUESTS_LARGE = 2000, 12000
TOLERANCE = 1.10


def instructions(driver: str, requests: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        run = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                              driver, str(requests)], capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"valgrind failed:\n{run.stderr[-2000:]}")
        return int(re.search(r"^summary: (\d+)", out.read_text(), re.M).group(1))


def main():
    driver, baseline_file = sys.argv[1], Path(sys.argv[2])
    # The difference of two runs removes start-up and warm-up costs: what is left is per request.
    per_request = (instructions(driver, REQUESTS_LARGE) - instructions(driver, REQUESTS_SMALL)) \
        / (REQUESTS_LARGE - REQUESTS_SMALL)
    if "--update" in sys.argv:
        baseline_file.write_text(f"{per_request:.0f}\n")
        print(f"baseline set to {per_request:.0f} instructions per request")
        return
    baseline = float(baseline_file.read_text().split()[0])
    ratio = per_request / baseline
    print(f"{per_request:.0f} instructions per request; baseline {baseline:.0f}; ratio {ratio:.3f}")
    if ratio > TOLERANCE:
        sys.exit(f"FAIL: the hot path grew {100 * (ratio - 1):.1f}% (limit 10%). If this is "
                 f"intended, run: {' '.join(sys.argv[:3])} --update")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
