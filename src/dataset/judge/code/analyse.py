# The code judge's prefix analysis (rule 1 of src/dataset/judge/code.rs): INPUT (set before
# this script) holds the prompt, the code and its first program line.
import ast, codeop, json, warnings
warnings.simplefilter("ignore")
inp = json.loads(INPUT)
prompt, code, first = inp["prompt"], inp["code"], inp["first"]
lines = [l + "\n" for l in code.split("\n")]
lines[-1] = lines[-1][:-1]
if not lines[-1]:
    lines.pop()
def status(src):
    try:
        c = codeop.compile_command(src, "prog.py", "exec")
        return ("complete" if c is not None else "incomplete"), None
    except SyntaxError as e:
        return "invalid", e.lineno
    except Exception:
        return "invalid", None
def closer(k):
    src = prompt + "".join(lines[:k])
    st, _ = status(src)
    if st == "complete":
        return ""
    if st != "incomplete":
        return None
    body = [l for l in lines[:k] if l.strip()]
    base = len(body[-1]) - len(body[-1].lstrip(" \t")) if body else 0
    nl = "" if src.endswith("\n") else "\n"
    tries = [len(l) - len(l.lstrip(" \t")) for l in lines[:k] if l.strip().startswith("try:")]
    for extra in (None, 4, 1, 2, 8):
        add = nl if extra is None else nl + " " * (base + extra) + "pass\n"
        for t in [None] + tries[::-1]:
            if t is not None:
                add += " " * t + "finally:\n" + " " * (t + 4) + "pass\n"
            if status(src + add)[0] == "complete" and not shadows(src + add, first + k):
                return add
    return None
def shadows(src, last):
    # `pass` as the whole body of a `def` or `class` would replace one already given: leave
    # the unfinished definition out instead
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    try:
        tree = ast.parse(src)
    except Exception:
        return False
    for node in ast.walk(tree):
        if isinstance(node, defs) and all(s.lineno > last for s in node.body):
            return True
    return False
syntax = None
st, at = status(prompt + code)
if st == "invalid" and at is not None and first < at <= first + len(lines):
    if code.endswith("\n") or at < first + len(lines):
        syntax = at
kept, close = 0, ""
for k in range(len(lines), -1, -1):
    if syntax is not None and first + k >= syntax:
        continue
    c = closer(k)
    if c is not None:
        kept, close = k, c
        break
open_blocks = []
body = [first + i + 1 for i, l in enumerate(lines[:kept]) if l.strip()]
if body:
    try:
        blocks = (ast.For, ast.AsyncFor, ast.While, ast.Try, getattr(ast, "TryStar", ast.Try))
        for node in ast.walk(ast.parse(prompt + "".join(lines[:kept]) + close)):
            if isinstance(node, blocks) and node.lineno <= body[-1] <= node.end_lineno:
                open_blocks.append([node.lineno, node.end_lineno])
    except Exception:
        open_blocks.append([0, first + len(lines)])
print(json.dumps({"kept": kept, "closer": close, "syntax": syntax, "open": open_blocks}))
