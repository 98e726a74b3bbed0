"""Batch throughput benchmark: generated portfolios scored file to file, beside the naive path, in one run.

`bench_batch` writes portfolios of 10k, 100k and 1M rows (CSV, as a CEP
export would be), scores each in a fresh child process with and without
explanations, and samples the memory of that process and its workers while
it runs; then it times the naive way, `scoring.explain.explain` one dossier
at a time, on a sample of the same rows. Throughput is `run_batch`'s own
clock: reading the input, scoring, writing the output; the child's
interpreter start and model loading are left out (they do not grow with
the file). Numbers are printed, never asserted in a unit test.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv

from scoring import catalogue, jsonform, schema
from scoring.synthetic import TRUE_P_COLUMNS, generate

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (100_000,)
BLOCK = 100_000  # generated and written this many rows at a time, so the benchmark's own memory stays small
NAIVE_ROWS = 200
QUICK_NAIVE_ROWS = 40
SAMPLE_SECONDS = 0.05
PSS_EVERY = 10  # samples: the proportional figure is read every half second


def bench_batch(bundle, quick: bool = False, seed: int = 2027) -> dict:
    """{"rows_per_s", "rows_per_s_explain", "peak_rss_mb_1m", "naive_rows_per_s", ...details}.

    `--quick` measures 100k rows only: `peak_rss_mb_1m` is then None and
    `peak_rss_mb` holds the 100k figure.
    """
    sizes = QUICK_SIZES if quick else SIZES
    with tempfile.TemporaryDirectory(prefix="cep-bench-") as tmp:
        files = _portfolios(Path(tmp), sizes, seed)
        runs = {
            n: {
                mode: _child_run(files[n], Path(tmp) / f"out-{n}-{mode}.csv", bundle.directory, mode == "explain")
                for mode in ("plain", "explain")
            }
            for n in sizes
        }
        naive = _naive_rows_per_s(bundle, files[sizes[0]], QUICK_NAIVE_ROWS if quick else NAIVE_ROWS)
    top = runs[sizes[-1]]
    result = {
        "rows_per_s": top["plain"]["rows_per_s"],
        "rows_per_s_explain": top["explain"]["rows_per_s"],
        "peak_rss_mb_1m": runs[1_000_000]["plain"]["peak_rss_mb"] if 1_000_000 in runs else None,
        "naive_rows_per_s": naive,
        "ratio": top["plain"]["rows_per_s"] / naive,
        "ratio_explain": top["explain"]["rows_per_s"] / naive,
        "peak_rss_mb": top["plain"]["peak_rss_mb"],
        "rows": sizes[-1],
        "sizes": {str(n): runs[n] for n in sizes},
        "naive_rows": QUICK_NAIVE_ROWS if quick else NAIVE_ROWS,
        "machine": _machine(),
    }
    return result


def _portfolios(directory: Path, sizes: tuple[int, ...], seed: int) -> dict[int, Path]:
    """One CSV per size, each the first rows of the same generated stream (outcomes left out)."""
    files = {n: directory / f"portfolio-{n}.csv" for n in sizes}
    writers: dict[int, pcsv.CSVWriter] = {}
    try:
        for k in range(-(-max(sizes) // BLOCK)):
            block = generate(BLOCK, seed + k).drop(columns=list(TRUE_P_COLUMNS) + list(catalogue.OUTCOMES))
            block["dossier_id"] = f"B{k}-" + block["dossier_id"]  # unique across blocks: a repeated id is an error
            table = pa.Table.from_pandas(block, preserve_index=False)
            for n in sizes:
                rows = min(BLOCK, n - k * BLOCK)
                if rows > 0:
                    if n not in writers:
                        writers[n] = pcsv.CSVWriter(files[n], table.schema)
                    writers[n].write_table(table.slice(0, rows))
    finally:
        for w in writers.values():
            w.close()
    return files


def _child_run(src: Path, dst: Path, model_dir: Path, explain: bool) -> dict:
    """`run_batch` in a fresh process; its memory (and its workers') sampled while it runs."""
    cmd = [sys.executable, "-m", "scoring.benchmark_batch", str(src), str(dst), str(model_dir), str(int(explain))]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peak = {"rss": 0, "pss": 0}
    stop = threading.Event()

    def sample() -> None:
        tick = 0
        while not stop.is_set():
            pids = _tree(proc.pid)
            peak["rss"] = max(peak["rss"], sum(_kib(f"/proc/{p}/status", "VmRSS:") for p in pids))
            if tick % PSS_EVERY == 0:  # PSS walks every page table of the processes: it slows what it measures
                peak["pss"] = max(peak["pss"], sum(_kib(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids))
            tick += 1
            stop.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    stop.set()
    sampler.join()
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"benchmark child failed ({proc.returncode}): {' '.join(cmd)}")
    child = json.loads(out)
    child.update(peak_rss_mb=peak["rss"] / 1024, peak_pss_mb=peak["pss"] / 1024)
    return child


def _tree(pid: int) -> list[int]:
    """The process and its descendants (Linux /proc; empty elsewhere, and once it has ended)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return out


def _kib(path: str, key: str) -> int:
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _naive_rows_per_s(bundle, src: Path, n: int) -> float:
    """Rows per second through the single-dossier path, one `explain([doc])` call per row."""
    from scoring.explain import explain

    raw = pcsv.read_csv(src, read_options=pcsv.ReadOptions(block_size=1 << 20)).slice(0, n).to_pandas()
    docs = [jsonform.to_json(r) for r in schema.validate_frame(raw).frame.to_dict("records")]
    explain(docs[:1], bundle)  # warm the caches a running app would have warm
    start = time.perf_counter()
    for doc in docs:
        explain([doc], bundle)
    return len(docs) / (time.perf_counter() - start)


def _machine() -> dict:
    mem = _kib("/proc/meminfo", "MemTotal:") / 1024**2
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(mem, 1),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _child_main(src: str, dst: str, model_dir: str, explain: str) -> None:
    from scoring import persist
    from scoring.batch import run_batch

    summary = run_batch(src, dst, persist.load(model_dir), explain=explain == "1")
    print(
        json.dumps(
            {
                "rows": summary.rows,
                "errors": summary.errors,
                "seconds": summary.seconds,
                "rows_per_s": summary.rows_per_s,
            }
        )
    )


if __name__ == "__main__":
    _child_main(*sys.argv[1:])
