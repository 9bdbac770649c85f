# The code sandbox's runner (see src/dataset/judge/code.rs, "Sandbox"): sets the limits,
# installs an audit hook (PEP 578; it cannot be removed) that refuses what could reach the
# program's own code object or start other programs, and runs the program read from stdin as a
# fresh `__main__` module. The program's last line, added by the caller, writes a secret that is
# a constant of the program's code object to descriptor 3: only a program that returns gets
# there, and no frame or code object leads to the constant.
#
# Arguments: memory bytes, wall seconds, the run's process tag (to find its processes), the
# process limit (0: none).
import _posixsubprocess, builtins, faulthandler, os, resource, socket, sys, types


def _install_hook():
    # the hook holds no secret: it only refuses
    fspath, is_a, str_split, bytes_split = os.fspath, isinstance, str.split, bytes.split
    protected = []
    refused = ("os.exec", "os.posix_spawn", "os.spawn", "os.system", "subprocess.Popen",
               "os.startfile", "os.symlink", "os.chdir", "os.fchdir")
    refused_modules = ("ctypes", "_ctypes", "_testcapi", "_testinternalcapi",
                       "_xxsubinterpreters", "_testmultiphase", "_posixsubprocess")

    def hook(event, args):
        if event == "halt.protect":
            # a function whose code object holds a secret (the code judge's search)
            protected.append(args[0])
            return
        # A frame's code object holds the secret; ValueError is what the standard library
        # (logging) expects where frame details are unavailable.
        if event == "object.__getattr__" and args[1] == "f_code":
            raise ValueError("frame code is out of reach in the HALT sandbox")
        if event == "object.__getattr__" and args[1] == "__code__":
            for p in protected:
                if p is args[0]:
                    raise ValueError("this code object is out of reach in the HALT sandbox")
            return
        if event in refused or event.startswith(
                ("gc.", "ctypes.", "sys.monitoring", "sys.settrace", "sys.setprofile")):
            raise RuntimeError(f"{event} is disabled in the HALT sandbox")
        # every component: an extension loads under any package name (`x._ctypes`)
        if event == "import":
            for part in str_split(args[0], "."):
                if part in refused_modules:
                    raise ImportError(f"{args[0]} is disabled in the HALT sandbox")
        if event == "open" and not is_a(args[0], int):
            # /proc (memory) is not mounted under bubblewrap; elsewhere these paths are
            # refused (`/dev/fd/..` leads into /proc too)
            path = fspath(args[0])
            # the types' own split: a subclass of str may answer anything
            parts = bytes_split(path, b"/") if is_a(path, bytes) else str_split(path, "/")
            for part in parts:
                if part in ("proc", "fd", "..", b"proc", b"fd", b".."):
                    raise PermissionError(f"{path!r} is out of reach in the HALT sandbox")

    sys.addaudithook(hook)


def _no_tracing(name):
    # tracing could jump over the tests (a trace function may set a frame's line); turning it
    # off (`None`, as doctest does) is allowed
    def refuse(function):
        if function is not None:
            raise RuntimeError(f"sys.{name} is disabled in the HALT sandbox")

    return refuse


def _run():
    mem, wall, nproc = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[4])
    if nproc:
        try:
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        except (ValueError, OSError):
            pass
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    cpu = int(wall) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 20, 16 << 20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    def no_network(*args, **kwargs):
        raise OSError("network access is disabled in the HALT sandbox")

    socket.socket.connect = no_network
    socket.socket.connect_ex = no_network
    socket.create_connection = no_network
    exc_info, excepthook, real_exit = sys.exc_info, sys.__excepthook__, os._exit
    dump = faulthandler.dump_traceback

    def traced_exit(status):
        # where the program exits: the code judge locates the failure from this stack
        dump(all_threads=False)
        real_exit(status)

    os._exit = traced_exit

    def no_programs(*args, **kwargs):
        raise RuntimeError("starting programs is disabled in the HALT sandbox")

    # imported before the hook (so `subprocess` and `asyncio` import) and unable to start
    # anything; a fresh copy cannot be loaded (the hook refuses the import)
    _posixsubprocess.fork_exec = no_programs
    # compiled here and handed to exec without a name: no frame's locals hold the code object
    box = [compile(sys.stdin.buffer.read(), "prog.py", "exec")]
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    _install_hook()
    sys.settrace = _no_tracing("settrace")
    sys.setprofile = _no_tracing("setprofile")
    faulthandler.dump_traceback_later(max(wall - 0.5, 0.1), exit=True)
    main = types.ModuleType("__main__")
    main.__file__ = "prog.py"
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    sys.argv = ["prog.py"]
    try:
        exec(box.pop(), main.__dict__)
    except SystemExit:
        excepthook(*exc_info())
        try:
            sys.stderr.flush()
        finally:
            real_exit(3)


_run()
