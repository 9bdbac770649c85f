"""Unit tests of the converters (no download): `python3 -m unittest discover -s datasets`."""

import unittest
from fractions import Fraction

from converters import calc, pyexpr
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


if __name__ == "__main__":
    unittest.main()
