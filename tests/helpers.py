"""What the tests share: the data, a step run in this process or as its own, temporary folders
and hand-made results files."""
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

import common
import mnist_files
import step5

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(HERE, "data")  # the default --data-dir, filled once for all tests
SVG = "{http://www.w3.org/2000/svg}"
SHIPPED = os.path.join(HERE, "results", "step5-seed1.pt")


def prepare_data():
    mnist_files.prepare_mnist(DATA, log=lambda line: None)


def read_text(path):
    with open(path) as f:
        return f.read()


def read_json(path):
    with open(path) as f:
        return json.load(f)


def run(*argv, step=step5):
    """common.main in this process: (exit code, stdout, stderr)."""
    stdout, stderr, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            common.main(step.__file__, step.make_net, step.HPARAMS, ["--data-dir", DATA, *argv])
        except SystemExit as e:
            code = e.code
    return code, stdout.getvalue(), stderr.getvalue()


def start(*argv, step="step5.py", **kwargs):
    """A step as its own process, Ctrl-C delivered as from a terminal: a job started in the
    background (nohup, `&`) inherits SIGINT ignored, and Python would then ignore it too."""
    if os.name == "posix":
        kwargs["preexec_fn"] = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    return subprocess.Popen([sys.executable, os.path.join(HERE, step), "--data-dir", DATA, *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE,
                            **kwargs)


# Where a test needs what only some systems have, it skips there, saying why.
needs_posix_signals = unittest.skipUnless(
    os.name == "posix", "needs POSIX signals (a Ctrl-C sent to a process, SIGKILL): not Windows")
needs_proc = unittest.skipUnless(os.path.isdir("/proc"), "needs /proc: Linux only")


def three_batches(seed, make_net, hp, data, device, max_batches=None, *rest, **how):
    """common.train_seed as in a dry run, for a real run's output in a few seconds."""
    return TRAIN_SEED(seed, make_net, hp, data, device, 3, *rest, **how)


def one_epoch(seed, make_net, hp, data, device, max_batches=None, *rest, **how):
    """common.train_seed as in a dry run of one epoch, whatever the step's epochs."""
    return TRAIN_SEED(seed, make_net, dict(hp, epochs=1), data, device, 3, *rest, **how)


TRAIN_SEED = common.train_seed


def wait_for(condition, seconds=120):
    deadline = time.time() + seconds
    while not condition() and time.time() < deadline:
        time.sleep(0.1)
    return condition()


def contents(*paths):
    """Every file at or under the paths, and its bytes."""
    found = {}
    for path in paths:
        walk = os.walk(path) if os.path.isdir(path) else [("", [], [path])]
        for folder, _, names in walk:
            for name in names:
                with open(os.path.join(folder, name), "rb") as f:
                    found[os.path.join(folder, name)] = f.read()
    return found


def svg_words(path):
    """A picture's words: its texts joined by spaces, whatever lines they were broken into."""
    return " ".join(" ".join(e.itertext()) for e in ET.parse(path).getroot().iter(f"{SVG}text"))


def svg_lines(path):
    """A picture's texts, one per line drawn."""
    return [" ".join(e.itertext()) for e in ET.parse(path).getroot().iter(f"{SVG}text")]


def without_seconds(record):
    return [{k: v for k, v in e.items() if k != "seconds"} for e in record["epochs"]]


class TempDir(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)

    def path(self, name):
        return os.path.join(self.tmp, name)


def results_file(path, step, accuracies, seconds=2.0, device_name="a CPU", epochs=4, **fields):
    """A hand-made results file: {seed: [test accuracy per epoch]}, each seed with its outcome
    (none where an accuracy is not a number)."""
    runs = [{"seed": seed, "epochs": [{"epoch": i, "test_acc": acc, "seconds": seconds}
                                      for i, acc in enumerate(accs, 1)],
             **({} if not all(isinstance(a, float) for a in accs) else {
                 "final_test_acc": accs[-1], "best_test_acc": max(accs),
                 "first_epoch_at_target": next((i for i, a in enumerate(accs, 1) if a >= 99.4),
                                               None)})}
            for seed, accs in accuracies.items()]
    with open(path, "w") as f:
        json.dump({"step": step, "parameters": 9142, "dry_run": False, "device": "cpu",
                   "device_name": device_name, "torch": "2.x", "code": "0123456789abcdef",
                   "hyperparameters": {"epochs": epochs}, "runs": runs, **fields}, f)
    return path
