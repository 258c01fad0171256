"""The integer byte-order tell of the ENVI reader (``had_hsi.envi._refuse_swapped_integers``) on real values: each
development scene (never a headline one) scaled to int16 (0.1-99.9 percentiles to 0-10000), written in each
interleave in its own byte order and with the header stating the other, then opened. Prints each file's roughness
in the stated and the other order and whether it was refused; exit 1 if a file in its own order is refused.
Usage (about a minute)::

    HAD_DATA_DIR=../shared/data .venv/bin/python benchmarks/envi_int_order.py > benchmarks/results/envi_int_order.md
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import had
import numpy as np
from had.errors import DataFileError
from had_hsi import envi

DEV = ["abu-airport-1", "abu-airport-3", "abu-beach-1", "abu-beach-3", "abu-urban-1", "abu-urban-4", "hydice-ii",
       "muufl-crop"]


def _rough(header: Path, order: str) -> float | None:
    fields = envi.read_header(header)
    kind = envi._dtype(fields).newbyteorder(envi.ORDER_MARKS[order])
    raw = envi._sample(envi.data_file_of(header), kind.itemsize, 0, envi._count(fields))
    return envi._roughness(np.frombuffer(raw, dtype=kind), None)


def main() -> int:
    print("| scene | interleave | file | stated order reads | other order reads | opened |")
    print("|---|---|---|---|---|---|")
    wrong_refusals = caught = swapped_files = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in DEV:
            X = np.asarray(had.load_dataset(name).X, dtype=np.float64)
            lo, hi = np.percentile(X, [0.1, 99.9])
            q = np.clip((X - lo) / (hi - lo) * 10000, -32768, 32767).astype(np.int16)
            for interleave in ("bip", "bil", "bsq"):
                for case in ("own order", "header says the other"):
                    header = Path(tmp) / f"{name}-{interleave}.hdr"
                    envi.save_envi(header, q, interleave, "little")
                    stated = "little"
                    if case != "own order":
                        header.write_text(header.read_text().replace("byte order = 0", "byte order = 1"))
                        stated = "big"
                    other = "big" if stated == "little" else "little"
                    try:
                        envi.open_envi(header)
                        opened = "read"
                    except DataFileError:
                        opened = "**refused**"
                    if case == "own order":
                        wrong_refusals += opened != "read"
                    else:
                        swapped_files += 1
                        caught += opened != "read"
                    a, b = _rough(header, stated), _rough(header, other)
                    print(f"| {name} | {interleave} | {case} | {a:.3f} | {b:.3f} | {opened} |")
    print(f"\nFiles in their own order refused: {wrong_refusals} of {3 * len(DEV)}; files whose header states the "
          f"other order refused: {caught} of {swapped_files}.")
    return 1 if wrong_refusals else 0


if __name__ == "__main__":
    sys.exit(main())
