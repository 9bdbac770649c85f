# The code sandbox's runner (see src/dataset/judge/code.rs, "Sandbox"): sets the limits, installs
# an audit hook (PEP 578; it cannot be removed) that keeps the program away from the run's secret,
# runs prog.py, and writes the secret to the done descriptor only when prog.py has returned.
#
# Arguments: memory bytes, wall seconds, the run's process tag (to find its processes), the
# process limit (0: none), the done descriptor. The secret (32 bytes) arrives on stdin.
import faulthandler, os, resource, socket, sys


def _run():
    mem, wall, nproc, done_fd = (
        int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[4]), int(sys.argv[5]))
    secret = b""
    while len(secret) < 32:
        chunk = os.read(0, 32 - len(secret))
        if not chunk:
            break
        secret += chunk
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
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

    # Everything the hook and the end of the run use is taken now: the program may replace
    # module attributes and builtins, but not this function's locals.
    getframe, write, audit = sys._getframe, os.write, sys.audit
    exc_info, excepthook, real_exit = sys.exc_info, sys.__excepthook__, os._exit
    dump, fspath, is_a = faulthandler.dump_traceback, os.fspath, isinstance
    home = getframe()
    busy = []
    frame_attrs = ("tb_frame", "gi_frame", "cr_frame", "ag_frame")
    refused = ("sys.settrace", "sys.setprofile", "os.exec", "os.posix_spawn", "os.spawn",
               "os.system", "subprocess.Popen", "os.startfile", "os.symlink", "os.chdir",
               "os.fchdir")
    refused_modules = ("ctypes", "_ctypes", "_testcapi", "_testinternalcapi",
                       "_xxsubinterpreters", "_testmultiphase")

    def hook(event, args):
        if busy:
            return
        if event == "halt.done":
            busy.append(None)
            try:
                # only from `_run` itself, after the program returned
                if getframe(1) is home:
                    write(done_fd, secret)
            finally:
                busy.pop()
            return
        # Frames lead to other code's state; ValueError is what the standard library (typing,
        # logging, enum, collections) expects where frames are unavailable.
        if event in ("sys._getframe", "sys._current_frames") or (
                event == "object.__getattr__" and args[1] in frame_attrs):
            raise ValueError("frame access is disabled in the HALT sandbox")
        if event in refused or event.startswith(("gc.", "ctypes.", "sys.monitoring")):
            raise RuntimeError(f"{event} is disabled in the HALT sandbox")
        if event == "import" and args[0].partition(".")[0] in refused_modules:
            raise ImportError(f"{args[0]} is disabled in the HALT sandbox")
        if event == "open" and not is_a(args[0], int):
            # /proc (the process's own memory) is not mounted under bubblewrap; elsewhere these
            # paths are refused (`/dev/fd/..` leads into /proc too)
            path = fspath(args[0])
            for part in path.split(b"/" if is_a(path, bytes) else "/"):
                if part in ("proc", "fd", "..", b"proc", b"fd", b".."):
                    raise PermissionError(f"{path!r} is out of reach in the HALT sandbox")

    def traced_exit(status):
        # where the program exits: the code judge locates the failure from this stack
        dump(all_threads=False)
        real_exit(status)

    os._exit = traced_exit
    sys.addaudithook(hook)
    faulthandler.dump_traceback_later(max(wall - 0.5, 0.1), exit=True)
    sys.argv = ["prog.py"]
    with open("prog.py", encoding="utf-8") as f:
        code = compile(f.read(), "prog.py", "exec")
    try:
        exec(code, {"__name__": "__main__"})
    except SystemExit:
        excepthook(*exc_info())
        try:
            sys.stderr.flush()
        finally:
            real_exit(3)
    else:
        audit("halt.done")


_run()
