"""chains: generated multi-step arithmetic word problems (1 to 6 dependent operations).

Not one of the paper's datasets: SmolLM2-135M solves almost none of the GSM8K / GSM-Symbolic
problems in `datasets/math/`, so HALT has nothing to learn there about *where* to stop. These
chains are a dependent-reasoning set on which a small model is partly capable: each problem is a
start value and 1 to 6 operations (+ - * /) on small integers, so step accuracy falls with depth.
The records have `"domain": "math"` and are judged exactly like the maths domain.
"""

from __future__ import annotations

import collections
import random
from dataclasses import dataclass

from .common import ConversionError, example

SEED = 20261201
LICENSE = "Apache-2.0"
DEPTHS = range(1, 7)  # operations per chain
PER_TEMPLATE = {"train": 10, "validation": 5, "test": 6}  # instances per (frame, depth)
FRAMES_PER_SPLIT = {"train": 30, "validation": 8, "test": 12}
SPLITS = ("train", "validation", "test")
MAX_DRAWS = 10_000  # chains tried per template before giving up

# Small numbers: SmolLM2-135M gets a two-digit subtraction such as 29 - 8 right about one time
# in seven, zero-shot (measured on the first version of these chains, with operands up to 20 and
# values up to 200); with one-digit operands and values below 100 its step accuracy starts
# higher and falls with depth, which is what HALT needs.
START = range(3, 21)
ADD = range(2, 10)
SUB = range(2, 10)
MUL = range(2, 4)
DIV = range(2, 4)
MIN_VALUE = 3
MAX_VALUE = 99
MAX_MUL_BASE = 20
# The maths judge treats these as everyday constants: never an intermediate result or the answer.
CONSTANTS = frozenset({0, 1, 2, 7, 10, 12, 24, 52, 60, 100})
OPS = ("+", "-", "*", "/")


@dataclass(frozen=True)
class Frame:
    """A small story: who (`name`, e.g. `Lena` or `a baker`), a pronoun, the countable item, a
    frame-specific verb for getting more and one for losing some (3rd person, object after)."""

    name: str
    pronoun: str  # she / he / it
    item: str  # plural
    gain: str
    lose: str

    @property
    def intro(self) -> str:  # first mention
        return cap(self.name)

    @property
    def ref(self) -> str:  # later mentions
        return "the " + self.name[2:] if self.name.startswith("a ") else self.name

    @property
    def poss(self) -> str:
        return {"she": "her", "he": "his", "it": "its"}[self.pronoun]


FRAMES = [
    Frame("Lena", "she", "marbles", "buys", "gives away"),
    Frame("Omar", "he", "stamps", "buys", "trades away"),
    Frame("a baker", "she", "loaves", "bakes", "sells"),
    Frame("a library", "it", "books", "buys", "lends out"),
    Frame("Priya", "she", "stickers", "collects", "gives away"),
    Frame("Mateo", "he", "baseball cards", "buys", "trades away"),
    Frame("a farmer", "he", "eggs", "collects", "sells"),
    Frame("Hana", "she", "seashells", "finds", "gives away"),
    Frame("a florist", "she", "roses", "orders", "sells"),
    Frame("Jonas", "he", "pencils", "buys", "lends out"),
    Frame("a school", "it", "chairs", "orders", "gives away"),
    Frame("Amara", "she", "beads", "buys", "uses"),
    Frame("Diego", "he", "coins", "finds", "spends"),
    Frame("a bakery", "it", "muffins", "bakes", "sells"),
    Frame("Ingrid", "she", "postcards", "receives", "sends"),
    Frame("Kofi", "he", "mangoes", "picks", "sells"),
    Frame("a zoo", "it", "penguins", "adopts", "sends away"),
    Frame("Mei", "she", "buttons", "buys", "sews on"),
    Frame("Tomas", "he", "nails", "buys", "hammers in"),
    Frame("a toy shop", "it", "puzzles", "orders", "sells"),
    Frame("Yara", "she", "candles", "makes", "burns"),
    Frame("Felix", "he", "comic books", "buys", "sells"),
    Frame("a gardener", "he", "tulip bulbs", "buys", "plants"),
    Frame("Nadia", "she", "ribbons", "buys", "uses"),
    Frame("Ravi", "he", "kites", "builds", "gives away"),
    Frame("a cafe", "it", "cups", "buys", "breaks"),
    Frame("Sofia", "she", "crayons", "buys", "loses"),
    Frame("Liam", "he", "toy cars", "collects", "gives away"),
    Frame("a beekeeper", "she", "jars of honey", "fills", "sells"),
    Frame("Aiko", "she", "origami cranes", "folds", "gives away"),
    Frame("Bruno", "he", "apples", "picks", "eats"),
    Frame("a museum", "it", "paintings", "acquires", "lends out"),
    Frame("Chloe", "she", "cupcakes", "bakes", "shares out"),
    Frame("Emeka", "he", "bottles", "collects", "recycles"),
    Frame("a fisherman", "he", "fish", "catches", "sells"),
    Frame("Greta", "she", "balloons", "buys", "pops"),
    Frame("Hugo", "he", "rocks", "collects", "throws away"),
    Frame("a pet shop", "it", "goldfish", "orders", "sells"),
    Frame("Isla", "she", "feathers", "finds", "gives away"),
    Frame("Kenji", "he", "batteries", "buys", "uses up"),
    Frame("a tailor", "she", "shirts", "sews", "sells"),
    Frame("Lucia", "she", "lemons", "picks", "squeezes"),
    Frame("Malik", "he", "tickets", "buys", "hands out"),
    Frame("a bookshop", "it", "notebooks", "orders", "sells"),
    Frame("Noor", "she", "dolls", "receives", "donates"),
    Frame("Oscar", "he", "tomatoes", "grows", "cooks"),
    Frame("a potter", "he", "bowls", "makes", "sells"),
    Frame("Rosa", "she", "socks", "knits", "gives away"),
    Frame("Samir", "he", "oranges", "buys", "eats"),
    Frame("a hotel", "it", "towels", "buys", "throws out"),
]


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


@dataclass(frozen=True)
class Step:
    op: str
    k: int
    before: int
    after: int


def apply(op: str, a: int, k: int) -> int | None:
    """The result of `a op k`, or None where the operation is not allowed here."""
    if op == "+":
        r = a + k
    elif op == "-":
        r = a - k
    elif op == "*":
        if a > MAX_MUL_BASE:
            return None
        r = a * k
    else:
        if a % k:
            return None
        r = a // k
    return r if MIN_VALUE <= r <= MAX_VALUE else None


OPERANDS = {"+": ADD, "-": SUB, "*": MUL, "/": DIV}


def draw_chain(rng: random.Random, depth: int) -> tuple[int, list[Step]] | None:
    """A start value and `depth` steps; every result differs from every other number on the path
    (start, operands, other results) and is not an everyday constant; operands may repeat but are
    never an earlier result. None when a draw runs into a dead end."""
    start = rng.choice(START)
    given = {start}  # the question's numbers
    results: set[int] = set()
    steps, value = [], start
    for _ in range(depth):
        order = list(OPS)
        rng.shuffle(order)  # each operation equally likely first; fall through when impossible
        for op in order:
            options = []
            for k in OPERANDS[op]:
                r = apply(op, value, k)
                if r is None or k in results or r in given or r in results or r == k or r in CONSTANTS:
                    continue
                options.append((k, r))
            if options:
                k, r = rng.choice(options)
                steps.append(Step(op, k, value, r))
                given.add(k)
                results.add(r)
                value = r
                break
        else:
            return None
    return start, steps


# Prompt sentences (without the leading "Then"); {s} = pronoun, {p} = possessive.
PROMPT = {
    "+": (
        "{s} {gain} {k} more {item}.",
        "{s} gets another {k} {item}.",
        "{s} is given {k} more {item}.",
    ),
    "-": (
        "{s} {lose} {k} {item}.",
        "{s} gives {k} {item} away.",
        "{s} has {k} fewer {item} than before.",
    ),
    "*": (
        "{s} ends up with {k} times as many {item} as {s} had.",
        "{s} now has {k} times as many {item} as before.",
        "the number of {item} {s} has becomes {k} times as large.",
    ),
    "/": (
        "{s} splits {p} {item} equally into {k} groups and keeps one of the groups.",
        "{s} divides {p} {item} into {k} equal parts and keeps only one part.",
    ),
}
CONNECTIVES = ("Then ", "After that, ", "Next, ")
# Reference lines: exactly one equation each, in digits; {r} = who, {eq} = the equation.
REFERENCE = {
    "+": ("After getting {k} more, {r} has {eq} {item}.", "{R} now has {eq} {item}."),
    "-": ("With {k} fewer, {r} has {eq} {item}.", "{R} now has {eq} {item}."),
    "*": ("Multiplying by {k}, {r} has {eq} {item}.", "Then {r} has {eq} {item}."),
    "/": ("Splitting them into {k} equal parts, {r} keeps {eq} {item}.", "{R} keeps {eq} {item}."),
}


def render(frame: Frame, start: int, steps: list[Step], rng: random.Random) -> tuple[str, list[str], list[dict], str]:
    """(prompt, reference steps, calculations, answer_expr) of one chain."""
    sentences = [f"{frame.intro} has {start} {frame.item}."]
    lines, calcs = [], []
    expr = str(start)
    for i, st in enumerate(steps):
        body = rng.choice(PROMPT[st.op]).format(
            s=frame.pronoun, p=frame.poss, k=st.k, item=frame.item, gain=frame.gain, lose=frame.lose
        )
        sentences.append(cap(body) if i == 0 else rng.choice(CONNECTIVES) + body)
        eq = f"{st.before} {st.op} {st.k} = {st.after}"
        lines.append(
            rng.choice(REFERENCE[st.op]).format(k=st.k, r=frame.ref, R=cap(frame.ref), eq=eq, item=frame.item)
        )
        calcs.append({"expr": f"{st.before}{st.op}{st.k}", "step": i, "value": str(st.after)})
        expr = f"({expr} {st.op} {st.k})"
    sentences.append(f"How many {frame.item} does {frame.ref} have now?")
    return " ".join(sentences), lines, calcs, expr


def frame_splits() -> dict[str, list[int]]:
    """Frame indices per split: a fixed shuffle of the 50 frames, cut 30 / 8 / 12."""
    order = list(range(len(FRAMES)))
    random.Random(f"{SEED}/frames").shuffle(order)
    out, at = {}, 0
    for split in SPLITS:
        n = FRAMES_PER_SPLIT[split]
        out[split] = sorted(order[at : at + n])
        at += n
    return out


def template_records(frame_index: int, depth: int, count: int) -> list[dict]:
    frame = FRAMES[frame_index]
    template = f"chains-{frame_index:02d}-d{depth}"
    rng = random.Random(f"{SEED}/{template}")
    out, seen = [], set()
    for _ in range(MAX_DRAWS):
        if len(out) == count:
            break
        chain = draw_chain(rng, depth)
        if chain is None:
            continue
        start, steps = chain
        key = (start, tuple((st.op, st.k) for st in steps))
        if key in seen:
            continue
        seen.add(key)
        prompt, lines, calcs, answer_expr = render(frame, start, steps, rng)
        answer = str(steps[-1].after)
        k = len(out) + 1  # instances from 1: every chain is generated, there is no original
        out.append(
            example(
                f"{template}-{k:02d}",
                "math",
                prompt,
                "\n".join(lines + [f"#### {answer}"]),
                {
                    "template": template,
                    "source_index": frame_index,
                    "instance": k,
                    "generated": True,
                    "steps": lines,
                    "calculations": calcs,
                    "num_steps": len(lines),
                    "num_calculations": len(calcs),
                    "answer": answer,
                    "answer_expr": answer_expr,
                },
            )
        )
    if len(out) < count:
        raise ConversionError(f"{template}: only {len(out)} of {count} distinct chains")
    return out


def generate() -> dict[str, list[dict]]:
    """All records per split, in (frame, depth, instance) order."""
    if len(FRAMES) != sum(FRAMES_PER_SPLIT.values()):
        raise ConversionError("FRAMES and FRAMES_PER_SPLIT disagree")
    splits = frame_splits()
    return {
        split: [
            r
            for f in splits[split]
            for depth in DEPTHS
            for r in template_records(f, depth, PER_TEMPLATE[split])
        ]
        for split in SPLITS
    }


def licence_text() -> str:
    return (
        "The chains dataset (train.jsonl, validation.jsonl, test.jsonl) is generated by halt-llm\n"
        "(`python3 datasets/prepare.py --domain chains`, datasets/converters/chains.py) and is\n"
        "distributed under the project's licence, the Apache License, Version 2.0:\n"
        "https://www.apache.org/licenses/LICENSE-2.0\n"
    )


def readme(data: dict[str, list[dict]]) -> str:
    splits = frame_splits()
    by = collections.Counter()
    for split, records in data.items():
        for r in records:
            by[split, r["ground_truth"]["num_calculations"]] += 1
    rows = "\n".join(
        f"| {d} | " + " | ".join(f"{by[s, d]} ({len(splits[s])})" for s in SPLITS) + " |" for d in DEPTHS
    )
    totals = " | ".join(f"**{len(data[s])} ({len(splits[s]) * len(DEPTHS)})**" for s in SPLITS)
    ops = {s: collections.Counter(c["expr"].strip("0123456789")[0] for r in data[s] for c in r["ground_truth"]["calculations"]) for s in SPLITS}
    all_ops = sum(ops.values(), collections.Counter())
    op_rows = "\n".join(
        f"| `{op}` | " + " | ".join(str(ops[s][op]) for s in SPLITS) + f" | {all_ops[op]} |" for op in OPS
    )
    frames = "\n".join(
        f"- {s}: " + ", ".join(f"{f:02d} {FRAMES[f].name} / {FRAMES[f].item}" for f in splits[s]) for s in SPLITS
    )
    constants = ", ".join(str(c) for c in sorted(CONSTANTS))
    return f"""# chains (math): generated multi-step arithmetic word problems

- **Source**: generated by this project, `python3 datasets/prepare.py --domain chains`
  (`datasets/converters/chains.py`, standard library only, seed `{SEED}`; deterministic: a rerun
  gives byte-identical files). Nothing is downloaded.
- **Licence**: {LICENSE}, the project's licence (see `LICENSE`).
- **Not one of the paper's datasets.** SmolLM2-135M solves almost none of the GSM8K /
  GSM-Symbolic problems in `datasets/math/`, so HALT has nothing to learn there about *where*
  to stop. These chains are a dependent-reasoning dataset on which a small model is partly
  capable: a start value and 1 to 6 operations on small numbers, each step using the previous
  result, so step accuracy falls with depth.
- **Judged like the maths domain**: the records have `"domain": "math"` and the same
  `ground_truth` shape as `datasets/math/`; the judge checks the solution path (every
  calculation) and the answer. Load with
  `halt_llm::dataset::load(Path::new("datasets/chains"), Domain::Math, split)`.

## Counts

A *frame* is a small story (a person or place and a countable item, e.g. `Lena / marbles`); a
*template* is (frame, depth) with depth = number of operations, 1 to 6. Instances per template:
train {PER_TEMPLATE["train"]}, validation {PER_TEMPLATE["validation"]}, test {PER_TEMPLATE["test"]}.
Examples (templates) by split and depth:

| depth | train | validation | test |
|---|---|---|---|
{rows}
| all | {totals} |

Operations (one calculation each):

| operation | train | validation | test | all |
|---|---|---|---|---|
{op_rows}

## Records

`id` = `chains-<frame>-d<depth>-<instance>` (frame 00-{len(FRAMES) - 1:02d}, instance from 01);
`prompt` = the story (1 + depth sentences) and the question; `reference` = one line per
operation, each with exactly one equation in digits (`a + k = r`, `a - k = r`, `a * k = r`,
`a / k = r`), then `#### <answer>`. `ground_truth`:

- `template` = `chains-<frame>-d<depth>` (the cluster the report's bootstrap resamples),
  `source_index` = the frame index, `instance` (1, 2, ...), `generated` = true (there is no
  original problem);
- `steps`: the reference lines before `####`; `num_steps` = their number = depth;
- `calculations`: one `{{step, expr, value}}` per operation (`expr` e.g. `23+14`, `step` = its
  index, which is also the index into `steps`); `num_calculations` = depth;
- `answer`: the last value; `answer_expr`: the whole chain as one expression, e.g.
  `((23 + 14) - 9)`.

## How the chains are made

Start value {START.start}..{START.stop - 1}; each operation is add k (k {ADD.start}..{ADD.stop - 1}),
subtract k (k {SUB.start}..{SUB.stop - 1}), multiply by k (k {MUL.start}..{MUL.stop - 1}, only when the value
is at most {MAX_MUL_BASE}) or divide by k (k {DIV.start}..{DIV.stop - 1}, only when exact); every value
stays in {MIN_VALUE}..{MAX_VALUE}. At each step the four operations are tried in a random order and
the first one with an admissible operand is used (so the mix is not dominated by additions); the
operand is drawn uniformly among the admissible ones. Every result (each intermediate and the
answer) differs from the question's numbers (start and operands) and from every other result,
operands are never an earlier result (they may repeat among themselves), and no result is one of
{constants} (the maths judge treats those as everyday constants), so a wrong step is unlikely to
land on a result of the path by chance. The numbers are small (one-digit operands, values below
100) because SmolLM2-135M, zero-shot, got a first version with operands up to 20 and values up to
200 right only about one step in seven (the book's Results chapter). Numbers are always
written in digits (division reads "keeps one of the groups"/"keeps only one part", the only number
word). Wording varies: 2 or 3 phrasings per operation, chosen by the seeded generator
(`random.Random("{SEED}/<template>")`), with the frame's item and pronoun. Chains repeated within
a template are drawn again.

## Split

By frame: the {len(FRAMES)} frames are shuffled with `random.Random("{SEED}/frames")` and cut
{FRAMES_PER_SPLIT["train"]} train / {FRAMES_PER_SPLIT["validation"]} validation / {FRAMES_PER_SPLIT["test"]} test, so no story (name, item, wording of the
item) appears in two splits; every split has every depth.

{frames}
"""
