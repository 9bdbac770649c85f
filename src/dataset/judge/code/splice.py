# The code judge's "right so far" search (rule 4 of src/dataset/judge/code.rs): INPUT (set
# before this script) holds the prompt, the prefixes, the reference and the tests; the caller
# replaces __HALT_TOKEN__ with a token that only `_search`'s code object holds (the sandbox
# keeps protected code objects and every frame's code out of the answers' reach).
import json, os, signal, time
def _search(inp):
    # what the search uses, taken before any answer runs (an answer may replace module
    # attributes and builtins, not these locals)
    write, monotonic, setitimer, set_signal = os.write, time.monotonic, signal.setitimer, signal.signal
    compile_, exec_, any_, enumerate_, range_, len_ = compile, exec, any, enumerate, range, len
    itimer, sigalrm, base = signal.ITIMER_REAL, signal.SIGALRM, BaseException
    prompt, entry, budget, per_try = inp["prompt"], inp["entry_point"], inp["budget"], inp["per_try"]
    prefixes = tuple((n, given) for n, given in inp["prefixes"])
    reference, test = inp["reference"], inp["test"]
    start = monotonic()
    out = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    class Stop(BaseException):
        pass
    def stop(*_):
        raise Stop()
    def passes(src):
        if monotonic() - start > budget:
            raise TimeoutError
        ok = False
        try:
            try:
                os._exit = stop
                set_signal(sigalrm, stop)
                setitimer(itimer, per_try)
                g = {"__name__": "__main__"}
                exec_(compile_(src, "prog.py", "exec"), g)
                g["check"](g[entry])
                ok = True
            finally:
                setitimer(itimer, 0)
        except base:
            pass
        return ok
    def search():
        ref = reference.split("\n")
        tail = "\n\n" + test + "\n"
        rest = ["\n".join(ref[j:]) for j in range_(1, len_(ref) + 1) if ref[j - 1].strip()]
        # tuples: an answer that reaches this frame's locals cannot change them
        rest = tuple(r for r in rest if not passes(prompt + r + tail))
        same = tuple(l.rstrip() for l in ref if l.strip())
        for n, given in prefixes:
            lines = tuple(l.rstrip() for l in given.split("\n") if l.strip())
            if lines == same[: len_(lines)]:
                return n
            given = given if given.endswith("\n") else given + "\n"
            if any_(passes(prompt + given + r + tail) for r in rest):
                return n
        return 0
    try:
        found = search()
    except TimeoutError:
        found = 0
    write(out, b"__HALT_TOKEN__ %d\n" % found)
import sys
sys.audit("halt.protect", _search)
_search(json.loads(INPUT))
