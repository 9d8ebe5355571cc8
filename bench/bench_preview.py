"""Preview of a big local CSV: reading the whole file (what preview did) next to reading a sample.

    nice -n 10 python bench/bench_preview.py --size-mib 190

Writes a CSV of synthetic reviews of about ``--size-mib`` MiB (190 MiB is 200 MB, just under the
200 MiB limit of ``read_table``) to a temporary folder, then runs each
variant in its own fresh process (so peak memory is that variant's alone) and prints wall time and peak
RSS side by side, with the ratios:

- **whole file**: ``data.load_local(path)``, the full read that ``preview`` used to start with;
- **preview**: ``data.preview(DataConfig(dataset=path))``, which now reads only a prefix holding the
  5,000 rows it scans.

Both processes import the same modules first; the figure reported is the time of the call alone and
the peak RSS of the whole process.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from trainer_core import data
from trainer_core.config import DataConfig
path, variant = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if variant == "whole file":
    rows = len(data.load_local(path)["train"])
else:
    rows = data.preview(DataConfig(dataset=path)).rows_scanned
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"variant": variant, "seconds": elapsed, "peak_mib": peak, "rows": rows}}))
"""

WORDS = [
    "good",
    "bad",
    "film",
    "plot",
    "actor",
    "great",
    "awful",
    "boring",
    "moving",
    "story",
    "scene",
    "music",
    "ending",
    "slow",
    "fun",
]


def write_csv(path: Path, size_mib: float, seed: int = 0) -> int:
    rng = random.Random(seed)
    target = size_mib * 1024 * 1024
    written, rows = 0, 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write("text,label\n")
        while written < target:
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 40)))
            line = f'"{text}, really",{rng.randint(0, 1)}\n'
            handle.write(line)
            written += len(line)
            rows += 1
    return rows


def run(path: Path, variant: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(ROOT)), str(path), variant],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=float, default=190.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.csv"
        rows = write_csv(path, args.size_mib)
        print(f"{path.stat().st_size / 2**20:.0f} MiB, {rows:,} rows")
        results = [run(path, "whole file"), run(path, "preview")]
    print("| variant | rows read | time | peak RSS |")
    print("|---|---:|---:|---:|")
    for r in results:
        print(f"| {r['variant']} | {r['rows']:,} | {r['seconds']:.2f} s | {r['peak_mib']:.0f} MiB |")
    whole, sample = results
    print(
        f"preview / whole file: time {sample['seconds'] / whole['seconds']:.3f}x, "
        f"peak RSS {sample['peak_mib'] / whole['peak_mib']:.2f}x"
    )


if __name__ == "__main__":
    main()
