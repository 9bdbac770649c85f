"""Unit tests of the converters (no download): `python3 -m unittest discover -s datasets`."""

import re
import unittest
from fractions import Fraction

from converters import calc, chains, pyexpr
from converters.common import key_hash, split_of, stratified_test
from converters.gsm_template import TemplateError, parse_template

TEMPLATE = {
    "question": "Ann has 4 apples and buys 2 more. How many?",
    "answer": "4 + 2 = <<4+2=6>>6\n#### 6",
    "id_orig": 1,
    "question_annotated": """{name,Ann} has {a,4} apples and buys {b,2} more. How many?

#init:
- name = sample(names)
- $a = range(2, 10)
- $b = range(1, 5)

#conditions:
- a > b

#answer: a + b""",
    "answer_annotated": "{a} + {b} = <<{a}+{b}={a+b}>>{a+b}\n#### {a+b}",
}


class TemplateTest(unittest.TestCase):
    def test_unsupported_construct_names_the_template(self):
        data = dict(TEMPLATE, question_annotated=TEMPLATE["question_annotated"].replace("a > b", "a @ b"))
        with self.assertRaisesRegex(TemplateError, r"template 0042\.toml"):
            parse_template("0042", data, {"names": ["Bo"]})
        data = dict(TEMPLATE, question_annotated=TEMPLATE["question_annotated"].replace("range(2, 10)", "shuffle(2)"))
        with self.assertRaisesRegex(TemplateError, r"template 0042\.toml.*shuffle"):
            parse_template("0042", data, {"names": ["Bo"]})

    def test_renders_an_instance(self):
        t = parse_template("0042", TEMPLATE, {"names": ["Bo"]})
        raw = {"name": "Bo", "a": 7, "b": 3}
        self.assertTrue(t.satisfies(raw))
        self.assertFalse(t.satisfies({"name": "Bo", "a": 2, "b": 3}))
        self.assertEqual(t.render_question(raw), "Bo has 7 apples and buys 3 more. How many?")
        self.assertEqual(t.render_answer(raw), "7 + 3 = <<7+3=10>>10\n#### 10")
        self.assertEqual(t.substituted_answer(raw), "(7 + 3)")


class ArithmeticTest(unittest.TestCase):
    def test_exact_python_semantics(self):
        env = {"p": pyexpr.Flt(Fraction("0.1"))}
        value = pyexpr.evaluate(pyexpr.parse("int(p * 30)"), env, pyexpr.TEXT_FUNCTIONS)
        self.assertEqual(value, 3)  # binary floats would give 2
        self.assertEqual(pyexpr.render(pyexpr.evaluate(pyexpr.parse("7 / 2"), {}, {})), "3.5")
        self.assertEqual(pyexpr.render(pyexpr.evaluate(pyexpr.parse("42 / 3"), {}, {})), "14")
        with self.assertRaises(pyexpr.Unprintable):
            pyexpr.render(pyexpr.evaluate(pyexpr.parse("1 / 3"), {}, {}))
        self.assertEqual(calc.evaluate("round(2.5) + round(3.5) + -7 // 2"), 2)
        self.assertEqual(calc.evaluate("24*150*.01"), 36)


class SplitTest(unittest.TestCase):
    def test_stratified_by_group_in_hash_order(self):
        groups = {0: ["a"], 1: ["b", "c"], 2: [f"t{i:02d}" for i in range(33)], 3: ["d", "e", "f"]}
        test = stratified_test(groups, 30, lambda m: f"k-{m}")
        self.assertNotIn("a", test)  # one member: stays in train
        self.assertEqual(len(test & {"b", "c"}), 1)  # two: one each side
        self.assertEqual(len(test & set(groups[3])), 1)  # three: round(0.9) = 1
        chosen = sorted(groups[2], key=lambda m: key_hash(f"k-{m}"))[:10]  # round(9.9) = 10
        self.assertEqual(test & set(groups[2]), set(chosen))
        self.assertEqual(stratified_test(groups, 30, lambda m: f"k-{m}"), test)

    def test_split_of_is_unchanged(self):
        self.assertEqual(split_of("math-template-0002", 15), "test")
        self.assertEqual(split_of("math-template-0000", 15), "train")


def tiny_eval(text: str) -> Fraction:
    """An independent evaluator of + - * / on integers with parentheses (exact, left to right
    within a precedence level), for checking the chains' `expr` and `answer_expr`."""
    tokens = re.findall(r"\d+|[-+*/()]", text)
    if "".join(tokens) != text.replace(" ", ""):
        raise ValueError(f"unexpected characters in {text!r}")
    pos = 0

    def atom() -> Fraction:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            v = sum_()
            assert tokens[pos] == ")", text
            pos += 1
            return v
        return Fraction(int(tok))

    def product() -> Fraction:
        nonlocal pos
        v = atom()
        while pos < len(tokens) and tokens[pos] in "*/":
            op = tokens[pos]
            pos += 1
            v = v * atom() if op == "*" else v / atom()
        return v

    def sum_() -> Fraction:
        nonlocal pos
        v = product()
        while pos < len(tokens) and tokens[pos] in "+-":
            op = tokens[pos]
            pos += 1
            v = v + product() if op == "+" else v - product()
        return v

    v = sum_()
    if pos != len(tokens):
        raise ValueError(f"trailing tokens in {text!r}")
    return v


class ChainsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.data = chains.generate()
        cls.records = [r for split in chains.SPLITS for r in cls.data[split]]

    def test_deterministic(self):
        self.assertEqual(chains.generate(), self.data)
        self.assertEqual(chains.readme(chains.generate()), chains.readme(self.data))

    def test_tiny_eval(self):
        self.assertEqual(tiny_eval("((23 + 14) - 9) * 3"), 84)
        self.assertEqual(tiny_eval("2+3*4"), 14)
        self.assertEqual(tiny_eval("84/4"), 21)

    def test_counts_per_split(self):
        for split, per in chains.PER_TEMPLATE.items():
            records = self.data[split]
            frames = chains.FRAMES_PER_SPLIT[split]
            self.assertEqual(len(records), frames * 6 * per, split)
            by_template = {}
            for r in records:
                g = r["ground_truth"]
                by_template.setdefault(g["template"], []).append(g["instance"])
            self.assertEqual(len(by_template), frames * 6, split)
            for instances in by_template.values():
                self.assertEqual(instances, list(range(1, per + 1)))
        self.assertEqual([len(self.data[s]) for s in chains.SPLITS], [1800, 240, 432])

    def test_ids_unique_and_well_formed(self):
        ids = [r["id"] for r in self.records]
        self.assertEqual(len(ids), len(set(ids)))
        for r in self.records:
            g = r["ground_truth"]
            depth = g["num_calculations"]
            self.assertEqual(r["domain"], "math")
            self.assertEqual(g["template"], f"chains-{g['source_index']:02d}-d{depth}")
            self.assertEqual(r["id"], f"{g['template']}-{g['instance']:02d}")
            self.assertTrue(g["generated"])
            self.assertGreater(g["instance"], 0)
            self.assertIn(depth, range(1, 7))

    def test_no_frame_in_two_splits(self):
        frames = {s: {r["ground_truth"]["source_index"] for r in self.data[s]} for s in chains.SPLITS}
        self.assertEqual({s: len(f) for s, f in frames.items()}, chains.FRAMES_PER_SPLIT)
        self.assertFalse(frames["train"] & frames["validation"])
        self.assertFalse(frames["train"] & frames["test"])
        self.assertFalse(frames["validation"] & frames["test"])

    def test_calculations_evaluate_and_chain(self):
        for r in self.records:
            g = r["ground_truth"]
            calcs = g["calculations"]
            self.assertEqual(len(calcs), g["num_calculations"])
            self.assertEqual(len(g["steps"]), g["num_steps"])
            self.assertEqual(g["num_steps"], g["num_calculations"])
            self.assertEqual(r["reference"], "\n".join(g["steps"] + [f"#### {g['answer']}"]))
            previous = None
            for i, c in enumerate(calcs):
                self.assertEqual(c["step"], i)
                value = tiny_eval(c["expr"])
                self.assertEqual(value, Fraction(int(c["value"])), c)
                self.assertEqual(value.denominator, 1)
                left = int(re.match(r"\d+", c["expr"]).group())
                if previous is not None:
                    self.assertEqual(left, previous, r["id"])
                previous = int(c["value"])
                # exactly one equation, in digits with spaces, in the step of this calculation
                step = g["steps"][i]
                self.assertEqual(step.count("="), 1, step)
                a, op, k = re.fullmatch(r"(\d+)([-+*/])(\d+)", c["expr"]).groups()
                self.assertIn(f"{a} {op} {k} = {c['value']}", step)
            self.assertEqual(g["answer"], calcs[-1]["value"])
            self.assertEqual(tiny_eval(g["answer_expr"]), int(g["answer"]))

    def test_path_values_distinct(self):
        for r in self.records:
            g = r["ground_truth"]
            question = [int(n) for n in re.findall(r"\d+", r["prompt"])]
            operands = [int(re.fullmatch(r"\d+[-+*/](\d+)", c["expr"]).group(1)) for c in g["calculations"]]
            start = int(re.match(r"\d+", g["calculations"][0]["expr"]).group())
            self.assertEqual(question, [start] + operands, r["id"])  # digits only, in order
            results = [int(c["value"]) for c in g["calculations"]]
            # each result differs from the question's numbers and from the other results
            # (operands may repeat)
            self.assertEqual(len(results), len(set(results)), r["id"])
            self.assertFalse(set(results) & set(question), r["id"])
            for v in results:
                self.assertNotIn(v, {0, 1, 2, 7, 10, 12, 24, 52, 60, 100}, r["id"])
                self.assertTrue(3 <= v <= 99, r["id"])
            for word in ("twice", "half", "double", "dozen", "thrice", "triple"):
                self.assertNotIn(word, r["prompt"].lower())

    def test_no_multiplication_reads_two_ways(self):
        # "A farmer has 14 eggs. He has 2 times as many eggs as before." states in the present
        # tense both that he has 14 and that he has twice as many: read literally the answer
        # is 14 (found in review); the wording says "now has" (or tells an event) instead.
        ambiguous = re.compile(r"(?<!now )\bhas \d+ times as many [\w ]+? as before\.")
        bad = [r["id"] for r in self.records if ambiguous.search(r["prompt"])]
        self.assertEqual(bad, [], f"{len(bad)} ambiguous prompts")

    def test_operation_mix(self):
        ops = {}
        for r in self.records:
            for c in r["ground_truth"]["calculations"]:
                op = re.fullmatch(r"\d+([-+*/])\d+", c["expr"]).group(1)
                ops[op] = ops.get(op, 0) + 1
        total = sum(ops.values())
        for op in "+-*/":
            self.assertGreater(ops.get(op, 0), total // 20, ops)  # each at least 5%


if __name__ == "__main__":
    unittest.main()
