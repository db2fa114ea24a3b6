"""A run's files: each written atomically, the results file claimed under a lock (an earlier run's
files are kept, the new run taking the first free numbered name), weights saved and loaded, the
machine and commit a run records, and what Ctrl-C does. Not the training story, so not in
common.py.

The lock: on Unix our own `fcntl.flock`, freed by the kernel when its process dies, its file
naming the holder; where `fcntl` is missing (Windows), the `filelock` package's (torch installs
it): `msvcrt` on Windows, also freed at death, the holder named in a file beside it."""
import contextlib
import errno
import itertools
import json
import os
import platform
import signal
import subprocess
import sys
import time
import warnings

import torch

import pictures

try:
    import fcntl
except ImportError:  # Windows: filelock's lock instead (see the docstring)
    fcntl = None
from flags import compact, fail


def run_files(stem, seeds=()):
    """The files of the run whose results file is <stem>.json, by kind."""
    return {"results": stem + ".json", "curves": stem + "-curves.svg",
            "mistakes": stem + "-mistakes.svg", "samples": stem + "-samples.svg",
            "network": stem + "-network.svg",
            **{f"seed{s}": f"{stem}-seed{s}.pt" for s in seeds}}


def replace_atomically(path, write, mode="w"):
    """Write to a temporary file in the same folder, then rename: readers never see half a file.
    The file gets the mode the user's umask gives a new file (644 under umask 022)."""
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".tmp-{os.getpid()}-{name}")
    try:
        with open(tmp, mode, encoding=None if "b" in mode else "utf-8") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text(path, text):
    replace_atomically(path, lambda f: f.write(text))


def write_json(path, value):
    replace_atomically(path, lambda f: json.dump(value, f, indent=2))


def read_results(path):
    """A results file as a dict, or None if the file is something else."""
    try:
        with open(path) as f:
            results = json.load(f)
        return results if isinstance(results, dict) and {"step", "runs"} <= set(results) else None
    except (OSError, ValueError):
        return None


RELEASED = b"released"  # what a lock file says once its holder has let go (see release)


def lock(path):
    """Hold path's lock, the file .<name>.lock beside it, until release(): (lock path, what holds
    it). ValueError, naming the holder, while another live process holds it; a process that dies
    lets go of its lock, so a killed run blocks nothing."""
    folder, name = os.path.split(os.path.abspath(path))
    held = os.path.join(folder, f".{name}.lock")
    if fcntl is None:
        return portable_lock(path, held)
    give_up = time.monotonic() + 1  # a holder killed between its close and its remove
    while True:
        fd = os.open(held, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode(errors="replace").strip()
            os.close(fd)
            raise ValueError(busy(path, holder))
        try:  # a file its last holder let go of is about to be removed: take the next one
            let_go = os.read(fd, len(RELEASED)) == RELEASED and time.monotonic() < give_up
            if not let_go and os.path.samestat(os.fstat(fd), os.stat(held)):
                break
        except FileNotFoundError:
            pass
        os.close(fd)
        time.sleep(0.001)
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, holder_text().encode())
    return held, fd


def portable_lock(path, held):
    """lock() where fcntl is missing: filelock's lock on held, the holder named in <held>.by."""
    with warnings.catch_warnings():  # filelock's advice on which lock it found: not the user's
        warnings.simplefilter("ignore")
        import filelock
        holding = filelock.FileLock(held, timeout=0)
        try:
            holding.acquire()
        except filelock.Timeout:
            try:
                with open(held + ".by") as f:
                    holder = f.read().strip()
            except OSError:  # not written yet, or gone
                holder = ""
            raise ValueError(busy(path, holder))
    write_text(held + ".by", holder_text())
    return held, holding


def holder_text():
    return f"process {os.getpid()} ({' '.join(sys.argv) or 'python'})"


def busy(path, holder):
    return (f"{path} is being written by {holder or 'another process'}; wait for it to end or "
            "give another --out")


def release(held):
    """Let go of a lock, each file closed before it is removed (as Windows requires). A flock's
    file is marked released before it is closed, so that a run that takes it in between knows
    to wait for the next one, never to share the lock with the run after it."""
    path, holding = held
    if fcntl is None:
        with contextlib.suppress(OSError):
            os.remove(path + ".by")
        holding.release()
        return
    os.lseek(holding, 0, os.SEEK_SET)
    os.ftruncate(holding, 0)
    os.write(holding, RELEASED)
    os.close(holding)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def numbered_names(path):
    """path, then <stem>.1<ext>, <stem>.2<ext>, ...: the names a run's file or a picture may take
    when an earlier one holds path."""
    stem, ext = os.path.splitext(path)
    yield path
    for n in itertools.count(1):
        yield f"{stem}.{n}{ext}"


def claim_results_file(out, seeds, replaceable=lambda earlier: False):
    """The results file a run writes, locked for as long as it runs: out itself if no file of
    that name is there (or what is there is replaceable), else the first free <stem>.N.json, so
    that no run writes over or moves another's files. ValueError if a live run holds out, or out
    is a file but not a run's."""
    for path in numbered_names(out):
        try:
            held = lock(path)
        except ValueError:
            if path == out:
                raise
            continue
        earlier = read_results(path)
        if path == out and os.path.exists(path) and earlier is None:
            release(held)
            if os.path.isdir(out):
                raise ValueError(f"{out} exists and is not a results file but a folder")
            raise ValueError(f"{out} exists and is not a results file")
        files = run_files(os.path.splitext(path)[0], seeds).values()
        if not any(map(os.path.exists, files)) or (earlier and replaceable(earlier)):
            return path, held
        release(held)


class Run:
    """A claimed run, from its claim to its last save: its results file (out), its files by kind,
    those it wrote before saving any results (removed if it stops with none), and the results it
    last saved (None before the first save)."""

    def __init__(self, out, seeds, target):
        self.out, self.seeds, self.target = out, seeds, target
        self.files = run_files(os.path.splitext(out)[0], seeds)
        self.written, self.results = [], None

    def write_picture(self, kind, svg):
        self.written.append(self.files[kind])
        write_text(self.files[kind], svg)

    def save(self, results, **fields):
        """The results, with fields, written whole; for a training run, with the seeds finished
        (those with all their epochs) and its curves drawn."""
        results.update(fields)
        self.results = results
        if self.seeds:
            epochs = results["hyperparameters"]["epochs"]
            results["seeds_finished"] = [r["seed"] for r in results["runs"]
                                         if len(r["epochs"]) == epochs]
        write_json(self.out, results)
        if self.seeds:
            write_text(self.files["curves"], pictures.run_curves_svg(
                results, compact(self.seeds), self.target))

    def stopped(self, how):
        """After Ctrl-C or a failure (how): the results file marked, keeping what finished, or,
        if nothing did, every file the run made removed. Returns the one line to say."""
        results = self.results
        if results is None or not results["runs"]:
            self.remove_what_was_made()
            return f"{how} before anything finished; nothing was written"
        if results["status"] == "complete":
            return f"{how} after the run had finished; it is all in {self.out}"
        self.save(results, status=how)
        if len(results["seeds_finished"]) < len(results["seeds"]):
            return f"{how}; what finished so far is in {self.out}"
        if "errors" in results:
            return f"{how} after every seed had finished; every seed is in {self.out}"
        return (f"{how} after every seed had finished (what the network gets wrong: not "
                f"reported); every seed is in {self.out}")

    def remove_what_was_made(self):
        """The files the run wrote, removed while it has saved no epoch."""
        if self.results is None or not self.results["runs"]:
            for written in filter(os.path.exists, self.written):
                os.remove(written)


@contextlib.contextmanager
def claimed(prog, out, seeds, replaceable, target):
    """The block runs with a Run on the results file claimed for it (out, or the first free
    numbered name), held until the block ends. Ctrl-C or `kill` inside: one line, exit 130, the
    results file marked as interrupted; a failure: one line, exit 1, and nothing left behind
    that holds nothing."""
    folder = os.path.dirname(os.path.abspath(out))
    try:
        made = missing_folders(folder)
        os.makedirs(folder, exist_ok=True)
        path, held = claim_results_file(out, seeds, replaceable)
    except ValueError as e:
        fail(prog, f"argument --out: {e}")
    except OSError as e:  # /proc, say, exists but takes no new file
        why = "it takes no new files" if e.errno == errno.ENOENT else e.strerror
        fail(prog, f"argument --out: cannot write to {os.path.dirname(out) or '.'}: {why}")
    if path != out and os.path.exists(out):
        print(f"{out} holds an earlier run, kept as it is; this one writes {path}")
    elif path != out:
        print(f"{out} has no results file, but an earlier run's files are beside it, kept as it "
              f"is; this one writes {path}")
    run = Run(path, seeds, target)
    try:
        yield run
    except SystemExit:  # a one-line error (bad data, say): nothing was saved
        run.remove_what_was_made()
        raise
    except KeyboardInterrupt:
        ignore_interrupts()  # a second Ctrl-C cannot cut the save short
        fail(prog, run.stopped("interrupted"), code=130)
    except Exception as e:  # a bug or a full disk: said in one line, what finished kept
        fail(prog, run.stopped("failed") + f" ({type(e).__name__}: {e})", code=1)
    finally:
        release(held)
        for folder in made:  # deepest first: those the run made and left empty
            with contextlib.suppress(OSError):
                os.rmdir(folder)


def stop_on_interrupts():
    """Ctrl-C or `kill` raise KeyboardInterrupt: a run stops where it is and says so."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.default_int_handler)


def ignore_interrupts():
    """Ctrl-C or `kill` change nothing and print nothing: for a last save, and for a process that
    has only to exit (its shutdown would otherwise print a traceback)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def missing_folders(folder):
    """The folders from folder up that do not exist yet, deepest first."""
    missing = []
    while not os.path.exists(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    return missing


def save_weights(path, step, model, hp, record, data):
    """The weights with what they came from: step, hyperparameters, seed, epoch, test accuracy."""
    checkpoint = {"step": step, "model": model.state_dict(), "hyperparameters": hp,
                  "seed": record["seed"], "epoch": len(record["epochs"]), "mean": data["mean"],
                  "test_acc": record["epochs"][-1]["test_acc"], "std": data["std"]}
    replace_atomically(path, lambda f: torch.save(checkpoint, f), mode="wb")


def load_weights(path, step, model, device):
    """The checkpoint --save-model wrote at path, loaded into model; anything else is a
    ValueError that says, in our words, what the file is not."""
    if not os.path.isfile(path):
        raise ValueError("a folder, not a file" if os.path.isdir(path) else "no such file")
    try:
        with warnings.catch_warnings():  # torch's warnings and advice are not for this user
            warnings.simplefilter("ignore")
            checkpoint = torch.load(path, map_location=device, weights_only=True)
    except Exception:
        raise ValueError("not a PyTorch weights file")
    if not (isinstance(checkpoint, dict) and isinstance(checkpoint.get("model"), dict)):
        raise ValueError("a PyTorch file, but not weights saved by --save-model")
    if checkpoint.get("step", step) != step:
        raise ValueError(f"{checkpoint['step']}'s weights, not {step}'s")
    try:
        model.load_state_dict(checkpoint["model"])
    except RuntimeError:
        raise ValueError(f"weights of another network than {step}'s (other layers or shapes)")
    return checkpoint


def describe(step_file, argv, args, hp, overrides, model, rows, data):
    """What a results file says of its run: the command, the network and the step file's own
    text (what ran, even without version control), the machine, the code and the data."""
    step = os.path.splitext(os.path.basename(step_file))[0]
    with open(step_file, encoding="utf-8") as f:
        text = f.read()
    return {"step": step, "status": "running", "command": " ".join([f"{step}.py"] + argv),
            "runs": [],
            "hyperparameters": hp, "overrides": overrides, "dry_run": args.dry_run,
            "seeds": [] if args.eval else args.seeds,
            "parameters": sum(p.numel() for p in model.parameters()),
            "layers": [str(m) for m in model.modules() if not list(m.children())],
            "summary_rows": [dict(zip(("layer", "output_shape", "params", "receptive_field"), r))
                             for r in rows], "device": str(args.device), **machine(args.device),
            "torch": torch.__version__, "code": code_version(), "step_file": text, "data": data,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def machine(device):
    """The GPU's name, or the CPU's model and cores (/proc/cpuinfo) with the instruction set
    torch's kernels use and the threads they run on."""
    if device.type == "cuda":
        return {"device_name": torch.cuda.get_device_name(device)}
    try:  # model names can be as vague as "AMD EPYC": the family and model tell them apart
        with open("/proc/cpuinfo") as f:
            info = dict(map(str.strip, line.split(":", 1)) for line in f if ":" in line)
        model = f"{info['model name']} (family {info['cpu family']}, model {info['model']})"
    except (OSError, KeyError):
        model = platform.processor() or platform.machine()
    return {"device_name": f"{model}, {os.cpu_count()} cores",
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cpu_threads": torch.get_num_threads()}


def code_version():
    """The project's git commit, "-dirty" if its tree had changes; None unless the project is the
    top of its own git checkout (a copy inside another repository records nothing)."""
    here = os.path.dirname(os.path.abspath(__file__))
    commands = ("rev-parse --show-toplevel", "rev-parse -q --verify HEAD",  # nothing if no commit
                "status --porcelain -uno")
    try:
        top, commit, dirty = [subprocess.run(["git", "-C", here, *c.split()], capture_output=True,
                                             text=True).stdout.strip() for c in commands]
    except OSError:  # no git
        return None
    if not (top and commit) or os.path.realpath(top) != os.path.realpath(here):
        return None
    return commit + ("-dirty" if dirty else "")
