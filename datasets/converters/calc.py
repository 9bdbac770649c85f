"""Strict exact arithmetic, the same subset the Rust test (`tests/datasets.rs`) evaluates.

Numbers (integers and decimals), `+ - * / // % **`, unary minus, parentheses and the calls
`int(x)` (toward zero), `round(x)` / `round(x, n)` (half to even) and `ensure_int(x)` (x must be
whole). Every value is an exact rational. Used to check each `<<expr=value>>` calculation and the
substituted answer expression before an instance is accepted.
"""

from __future__ import annotations

import ast
import math
import re
from fractions import Fraction

RE_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class CalcError(Exception):
    pass


def number(text: str) -> Fraction:
    """A plain number as written (`14`, `-2.5`)."""
    t = text.strip()
    if not RE_NUMBER.fullmatch(t):
        raise CalcError(f"not a plain number: {text!r}")
    return Fraction(t)


def evaluate(text: str) -> Fraction:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise CalcError(f"cannot parse {text!r}") from e
    return _eval(tree.body)


def _eval(node: ast.AST) -> Fraction:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return Fraction(repr(node.value))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _eval(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        if isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)) and b == 0:
            raise CalcError("division by zero")
        if isinstance(node.op, ast.Div):
            return a / b
        if isinstance(node.op, ast.FloorDiv):
            return Fraction(a // b)
        if isinstance(node.op, ast.Mod):
            return a - b * (a // b)
        if isinstance(node.op, ast.Pow) and b.denominator == 1 and 0 <= b <= 64:
            return a ** int(b)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        args = [_eval(a) for a in node.args]
        name = node.func.id
        if name == "int" and len(args) == 1:
            return Fraction(math.trunc(args[0]))
        if name == "round" and len(args) == 1:
            return Fraction(round(args[0]))
        if name == "round" and len(args) == 2 and args[1].denominator == 1:
            scale = Fraction(10) ** int(args[1])
            return Fraction(round(args[0] * scale)) / scale
        if name == "ensure_int" and len(args) == 1 and args[0].denominator == 1:
            return args[0]
    raise CalcError(f"unsupported: {ast.unparse(node)!r}")
