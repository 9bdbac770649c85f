"""Exact evaluation of the Python-like expressions in the GSM-Symbolic templates.

The templates write init lines, conditions and answers in a small subset of Python
(`y//d*t`, `is_int(x/3)`, `int(round(p1, 2) + 0.5)`, `7 if period == "week" else 30`).
Python itself would evaluate `/` in binary floating point (so `int(0.1*30)` can be 2);
here every number is an exact rational and keeps Python's *type* (int, Fraction or float),
so the rendered text looks the way the package renders it, but without rounding errors:

* `int op int` is an int, except `/` which gives a float; a Fraction with an int stays a
  Fraction; anything with a float is a float.
* A float is printed as Python prints an integral float turned int (`14`), or as its exact
  terminating decimal (`2.75`); a float with no terminating decimal cannot be printed and
  raises `Unprintable` (the generator then rejects that instance).
* A Fraction prints as `n/d` (or `n` when whole), as Python's `str(Fraction)` does.

Anything outside the supported subset raises `Unsupported`, which the caller turns into an
error naming the template.
"""

from __future__ import annotations

import ast
import math
from fractions import Fraction
from typing import Any, Callable


class Unsupported(Exception):
    """A construct the templates are not expected to use."""


class Unprintable(Exception):
    """A value that has no exact short decimal form (e.g. 1/3 as a float)."""


class Reject(Exception):
    """An instance that must be discarded (division by zero, ensure_int on a non-integer...)."""


class Flt:
    """A Python float, held exactly as a rational."""

    __slots__ = ("v",)

    def __init__(self, v: Fraction | int):
        self.v = Fraction(v)

    def __repr__(self) -> str:
        return f"Flt({self.v})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Flt) and self.v == other.v

    def __hash__(self) -> int:
        return hash(("Flt", self.v))


Number = int | Fraction | Flt


def is_number(x: Any) -> bool:
    return isinstance(x, (int, Fraction, Flt)) and not isinstance(x, bool)


def exact(x: Any) -> Fraction:
    """The exact value of a number (bools count as 0/1 like in Python)."""
    if isinstance(x, Flt):
        return x.v
    if isinstance(x, (int, Fraction)):
        return Fraction(x)
    if isinstance(x, str):
        return exact(parse_number(x))
    raise Reject("a non-number used as a number")


def _kind(x: Any) -> int:
    if isinstance(x, Flt):
        return 2
    if isinstance(x, Fraction):
        return 1
    if isinstance(x, int):
        return 0
    raise Reject("arithmetic on a non-number")


def _make(kind: int, v: Fraction) -> Number:
    if kind == 2:
        return Flt(v)
    if kind == 1:
        return v
    if v.denominator != 1:
        raise AssertionError("int result with a fraction")
    return int(v)


def parse_number(text: str) -> Any:
    """Python's `parse_value` on a sampled string: '12' -> int, '0.25' -> float, '1/4' -> Fraction."""
    t = text.strip()
    try:
        return int(t)
    except ValueError:
        pass
    if t.count("/") == 1:
        n, d = t.split("/")
        if n.lstrip("-").isdigit() and d.lstrip("-").isdigit():
            return Fraction(int(n), int(d))
    try:
        float(t)
    except ValueError:
        return text
    return Flt(Fraction(t))


def round_half_even(v: Fraction, ndigits: int) -> Fraction:
    scale = Fraction(10) ** ndigits
    return Fraction(round(v * scale)) / scale  # Fraction.__round__ rounds half to even


def binop(op: ast.operator, a: Any, b: Any) -> Any:
    if isinstance(op, ast.Add) and isinstance(a, str) and isinstance(b, str):
        return a + b
    if isinstance(op, ast.Mult) and (isinstance(a, str) or isinstance(b, str)):
        raise Unsupported("string repetition")
    ka, kb = _kind(a), _kind(b)
    kind = max(ka, kb)
    x, y = exact(a), exact(b)
    if isinstance(op, ast.Add):
        return _make(kind, x + y)
    if isinstance(op, ast.Sub):
        return _make(kind, x - y)
    if isinstance(op, ast.Mult):
        return _make(kind, x * y)
    if isinstance(op, (ast.Div, ast.FloorDiv, ast.Mod)) and y == 0:
        raise Reject("division by zero")
    if isinstance(op, ast.Div):
        return _make(2 if kind == 0 else kind, x / y)
    if isinstance(op, ast.FloorDiv):
        # Python: int // int and Fraction // x give an int; a float operand gives a float
        return Flt(Fraction(x // y)) if kind == 2 else int(x // y)
    if isinstance(op, ast.Mod):
        return _make(kind, x - y * (x // y))
    if isinstance(op, ast.Pow):
        if y.denominator != 1 or abs(y) > 64:
            raise Unsupported("only small integer exponents")
        if kind == 0 and y < 0:
            kind = 2
        return _make(kind, x ** int(y))
    raise Unsupported(f"operator {type(op).__name__}")


def compare(op: ast.cmpop, a: Any, b: Any) -> bool:
    if isinstance(op, ast.Eq):
        return exact(a) == exact(b) if is_number(a) and is_number(b) else a == b
    if isinstance(op, ast.NotEq):
        return not compare(ast.Eq(), a, b)
    x, y = exact(a), exact(b)
    if isinstance(op, ast.Lt):
        return x < y
    if isinstance(op, ast.LtE):
        return x <= y
    if isinstance(op, ast.Gt):
        return x > y
    if isinstance(op, ast.GtE):
        return x >= y
    raise Unsupported(f"comparison {type(op).__name__}")


def render(value: Any) -> str:
    """Python's `str()` of a value, as the package renders it (an integral float prints as an int)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, Flt):
        return decimal_text(value.v)
    if isinstance(value, str):
        return value
    raise Unsupported(f"cannot print {value!r}")


def decimal_text(v: Fraction) -> str:
    """Exact decimal text of a rational with a terminating expansion (at most 8 places)."""
    if v.denominator == 1:
        return str(v.numerator)
    sign = "-" if v < 0 else ""
    v = abs(v)
    for places in range(1, 9):
        scaled = v * 10**places
        if scaled.denominator == 1:
            digits = str(scaled.numerator).rjust(places + 1, "0")
            return f"{sign}{digits[:-places]}.{digits[-places:]}"
    raise Unprintable(f"{v} has no short decimal form")


# ---- functions available to template expressions -------------------------------------------


def _is_int(x: Any) -> bool:
    return is_number(x) and exact(x).denominator == 1


def _divides(a: Any, b: Any) -> bool:
    if exact(b) == 0:
        return False
    return exact(a) % exact(b) == 0


def _int(x: Any) -> int:
    return math.trunc(exact(x))


def _round(x: Any, ndigits: Any = None) -> Any:
    if ndigits is None:
        return round(exact(x))
    # Python: round(int, n) is an int, round(Fraction, n) a Fraction, round(float, n) a float
    return _make(_kind(x), round_half_even(exact(x), int(ndigits)))


def _ensure_int(x: Any) -> int:
    if not _is_int(x):
        raise Reject("ensure_int of a non-integer")
    return int(exact(x))


def _float(x: Any) -> Flt:
    return Flt(exact(x))


def _fraction_text(x: Any) -> str:
    """The package's `Fraction()` helper: a float becomes 'n/d' (or 'n' when whole)."""
    v = exact(x)
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


TEXT_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "is_int": _is_int,
    "divides": _divides,
    "int": _int,
    "round": _round,
    "ensure_int": _ensure_int,
    "float": _float,
    "Fraction": _fraction_text,
}

# In the `#answer:` line `Fraction(x)` is the number itself (the helper only formats text).
NUMERIC_FUNCTIONS: dict[str, Callable[..., Any]] = TEXT_FUNCTIONS | {"Fraction": lambda x: x}


def evaluate(node: ast.AST, env: dict[str, Any], functions: dict[str, Callable[..., Any]]) -> Any:
    """Evaluate a parsed expression; `env` holds the template variables and replacement lists."""
    if isinstance(node, ast.Expression):
        return evaluate(node.body, env, functions)
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or v is None:
            raise Unsupported(f"constant {v!r}")
        if isinstance(v, float):
            return Flt(Fraction(repr(v)))  # the literal as written: 0.1 is exactly 1/10
        if isinstance(v, (int, str)):
            return v
        raise Unsupported(f"constant {v!r}")
    if isinstance(node, ast.Name):
        if node.id not in env:
            raise Unsupported(f"unknown name {node.id!r}")
        return env[node.id]
    if isinstance(node, ast.List):
        return [evaluate(e, env, functions) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(evaluate(e, env, functions) for e in node.elts)
    if isinstance(node, ast.BinOp):
        return binop(node.op, evaluate(node.left, env, functions), evaluate(node.right, env, functions))
    if isinstance(node, ast.UnaryOp):
        v = evaluate(node.operand, env, functions)
        if isinstance(node.op, ast.Not):
            return not v
        if isinstance(node.op, ast.USub):
            return _make(_kind(v), -exact(v))
        if isinstance(node.op, ast.UAdd):
            return v
        raise Unsupported(f"unary {type(node.op).__name__}")
    if isinstance(node, ast.Compare):
        left = evaluate(node.left, env, functions)
        for op, comp in zip(node.ops, node.comparators):
            right = evaluate(comp, env, functions)
            if not compare(op, left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(evaluate(v, env, functions) for v in node.values)
        return any(evaluate(v, env, functions) for v in node.values)
    if isinstance(node, ast.IfExp):
        branch = node.body if evaluate(node.test, env, functions) else node.orelse
        return evaluate(branch, env, functions)
    if isinstance(node, ast.Subscript):
        seq = evaluate(node.value, env, functions)
        index = evaluate(node.slice, env, functions)
        if not isinstance(seq, (list, tuple)) or not isinstance(index, int):
            raise Unsupported("subscript other than list[int]")
        return seq[index]
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise Unsupported("call of something other than a plain function name")
        name = node.func.id
        if name not in functions:
            raise Unsupported(f"function {name}()")
        return functions[name](*[evaluate(a, env, functions) for a in node.args])
    raise Unsupported(f"syntax {type(node).__name__}")


_NODES = (ast.Expression, ast.Constant, ast.Name, ast.Load, ast.List, ast.Tuple, ast.BinOp,
          ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp, ast.Subscript, ast.Call, ast.And, ast.Or,
          ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.USub, ast.UAdd,
          ast.Not, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)  # fmt: skip


def check(tree: ast.AST, names: set[str], functions: dict[str, Callable[..., Any]]) -> None:
    """Raise `Unsupported` for any syntax, function or name `evaluate` would not accept."""
    for node in ast.walk(tree):
        if not isinstance(node, _NODES):
            raise Unsupported(f"syntax {type(node).__name__}")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.keywords:
                raise Unsupported("call of something other than a plain function name")
            if node.func.id not in functions:
                raise Unsupported(f"function {node.func.id}()")
        elif isinstance(node, ast.Name) and node.id not in names and node.id not in functions:
            raise Unsupported(f"unknown name {node.id!r}")


def parse(source: str) -> ast.Expression:
    try:
        return ast.parse(source.strip(), mode="eval")
    except SyntaxError as e:
        raise Unsupported(f"cannot parse {source!r}: {e.msg}") from e
