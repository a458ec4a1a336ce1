"""Coverage-guided fuzzing of the CommerceML reader with atheris (a script, not a pytest test).

    python -m tests.fuzz.fuzz_reader [-runs=N] [-max_total_time=SECONDS] [CORPUS_DIR ...]

The seed corpus is every XML file under fixtures/commerceml and, when present, the real files in
CML_REAL_FIXTURES (default ../shared/fixtures/real), cut to 64 KiB. The input is fed in chunks whose
sizes come from the fuzzer too, so chunk boundaries are fuzzed along with the bytes. Any exception
other than CommerceMLError is a crash: atheris stops and exits non-zero with the input saved.
Without atheris installed the script says so and exits 2.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from commerceml import CommerceMLError, Reader

ROOT = Path(__file__).resolve().parents[2]
SEED_LIMIT = 64 * 1024


def feed(data: bytes) -> None:
    """Read ``data`` with chunk sizes taken from its first bytes; only CommerceMLError may escape."""
    if not data:
        return
    sizes = [1 + b for b in data[:4]]
    body = data[4:]
    reader = Reader("fuzz.xml")
    try:
        pos = index = 0
        while pos < len(body):
            size = sizes[index % len(sizes)] * 37
            reader.feed(body[pos : pos + size])
            pos += size
            index += 1
        reader.close()
    except CommerceMLError:
        pass


def seed_corpus(target: Path) -> None:
    sources = list((ROOT / "fixtures").rglob("*.xml"))
    real = Path(os.environ.get("CML_REAL_FIXTURES", ROOT.parent / "shared" / "fixtures" / "real"))
    if real.is_dir():
        sources += [p for p in real.rglob("*") if p.is_file() and p.suffix.lower() in (".xml", ".done")]
    for number, path in enumerate(sources):
        (target / f"seed-{number:04d}").write_bytes(b"\x07\x07\x07\x07" + path.read_bytes()[:SEED_LIMIT])


def run_atheris(
    atheris: Any, target: Callable[[bytes], None], seeds: Iterable[bytes] | Callable[[Path], None]
) -> int:
    """Run ``target`` under atheris; without a corpus directory on the command line, ``seeds`` are one.

    ``seeds`` is a list of inputs, or a function that writes the seed files into a directory.
    """
    args = list(sys.argv)
    corpus_dirs = [a for a in args[1:] if not a.startswith("-")]
    temp = None
    if not corpus_dirs:
        temp = Path(tempfile.mkdtemp(prefix="cml-fuzz-"))
        if callable(seeds):
            seeds(temp)
        else:
            for number, seed in enumerate(seeds):
                (temp / f"seed-{number:04d}").write_bytes(seed)
        args.append(str(temp))
    try:
        atheris.instrument_all()
        atheris.Setup(args, target)
        atheris.Fuzz()
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    return 0


def main() -> int:
    try:
        import atheris
    except ImportError:
        print("atheris is not installed (pip install atheris); the Hypothesis tests cover the reader")
        return 2
    return run_atheris(atheris, feed, seed_corpus)


if __name__ == "__main__":
    sys.exit(main())
