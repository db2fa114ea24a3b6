"""common.py: the learner and the runner, in this process."""
import importlib
import os
import re
import subprocess
import sys
import unittest
import xml.etree.ElementTree as ET
from unittest import mock

import torch
import torch.nn as nn
import torch.nn.functional as F

import common
import flags
import step5
from tests.helpers import (DATA, HERE, SHIPPED, SVG, TempDir, read_json, svg_words,
                           run, three_batches, without_seconds)
from tests.helpers import prepare_data as setUpModule  # noqa: F401 (unittest runs it)


class LearnerTest(unittest.TestCase):
    """MNIST as tensors, augmentation, the model summary, the schedule."""

    def test_training_pixels_have_the_reference_mean_and_std(self):
        data, source = common.load_mnist(DATA, torch.device("cpu"), log=lambda line: None)
        stats = data["stats"]
        self.assertEqual(source, "local files")
        self.assertEqual((data["mean"], data["std"]), (stats["mean"], stats["std"]))
        self.assertEqual(tuple(data["train"][0].shape), (60000, 1, 28, 28))
        self.assertEqual(tuple(data["test"][0].shape), (10000, 1, 28, 28))
        self.assertEqual((round(stats["mean"], 4), round(stats["std"], 4)), (0.1307, 0.3081))
        self.assertEqual((stats["min"], stats["max"]), (0.0, 1.0))

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
        rows, total = common.summarize(step5.make_net(step5.HPARAMS), torch.device("cpu"),
                                       log=lambda line: None)
        self.assertEqual(total, 9142)
        self.assertEqual(sum(r[2] for r in rows), total)
        convs = [r for r in rows if r[0] == "Conv2d"]
        self.assertEqual([r[3] for r in convs], [3, 5, 7, 12, 16, 20, 20])
        self.assertEqual(convs[-1][1], [10, 5, 5])
        self.assertEqual(rows[-1][1:], ([10], 0, 28))  # GAP sees the whole image

    def test_columns_line_up_past_a_long_layer_name(self):
        lines = []
        net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        common.summarize(net, torch.device("cpu"), log=lines.append)
        rows = lines[1:-1]
        self.assertIn("AdaptiveAvgPool2d", rows[1])
        self.assertEqual({len(line) for line in lines[:-1]}, {len(lines[0])})  # one right edge


class RunnerTest(TempDir):
    """A step's run end to end: its output, its results file and pictures, its figures."""

    def test_every_step_runs_end_to_end_and_draws_its_network(self):
        for n in range(1, 7):
            with self.subTest(step=n):
                out = self.path(f"step{n}.json")
                code, stdout, stderr = run("--dry-run", "--epochs", "1", "--out", out,
                                           step=importlib.import_module(f"step{n}"))
                self.assertEqual(code, 0, stderr)
                self.assertIn("total parameters:", stdout)
                results = read_json(out)
                self.assertEqual(results["status"], "complete")
                network = self.path(f"step{n}-network.svg")
                self.assertIn(f"network: {network}", stdout)
                words, rows = svg_words(network), results["summary_rows"]
                self.assertIn(f"step{n}.py: {results['parameters']:,} parameters", words)
                for row in rows:  # every convolution's parameters, as the layer table says them
                    if row["layer"] == "Conv2d":  # alone, or beside its BatchNorm's
                        self.assertRegex(words, rf"(^| |\(){row['params']:,}( params| \+ \d+ BN)")
                self.assertIn(f"RF {rows[-1]['receptive_field']}", words)  # the whole image's
        self.assertIn("15,530 parameters", svg_words(self.path("step1-network.svg")))
        self.assertIn("9,142 parameters", svg_words(self.path("step5-network.svg")))

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
        self.assertEqual(results["device"], str(flags.pick_device("auto")))
        if results["device"] == "cpu":  # what the machine records is its device type's
            self.assertEqual(results["cpu_capability"], torch.backends.cpu.get_cpu_capability())
            self.assertEqual(results["cpu_threads"], torch.get_num_threads())
        else:
            self.assertEqual(results["device_name"], torch.cuda.get_device_name())
            self.assertNotIn("cpu_capability", results)
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
                         ["step5-curves.svg", "step5-mistakes.svg", "step5-network.svg",
                          "step5-samples.svg",
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
        [short] = read_json(self.path("short.json"))["runs"]
        self.assertNotIn("verdict", short)  # a short run has no verdict, only what it reached
        self.assertEqual(short["reached"], "99.4% not reached in 3 epochs (no verdict: the budget "
                                           "is judged on 15)")

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
        self.assertEqual(len(root.findall(f".//{SVG}image")), min(100, report["mistakes"]))
        labels = [t.text for t in root.iter(f"{SVG}text")
                  if re.fullmatch(r"\d as \d", t.text or "")]
        self.assertEqual(len(labels), min(100, report["mistakes"]))
        self.assertTrue(all(a != b for a, b in (label.split(" as ") for label in labels)))

    def test_the_ema_key_absent_or_off_gives_the_same_numbers(self):
        data, _ = common.load_mnist(DATA, torch.device("cpu"), log=lambda line: None)

        def records(hp):
            return [without_seconds(r) for r, _, _ in common.train_seed(
                1, step5.make_net, hp, data, torch.device("cpu"), max_batches=3)]

        absent = records(dict(step5.HPARAMS, epochs=2))
        self.assertNotIn("ema", step5.HPARAMS)
        self.assertEqual(records(dict(step5.HPARAMS, epochs=2, ema=0)), absent)
        self.assertNotEqual(records(dict(step5.HPARAMS, epochs=2, ema=0.5)), absent)

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

    def test_the_samples_picture_says_what_it_shows(self):
        out = self.path("r.json")
        self.assertEqual(run("--dry-run", "--epochs", "1", "--out", out)[0], 0)
        root = ET.parse(self.path("r-samples.svg")).getroot()
        texts = [t.text for t in root.iter(f"{SVG}text")]
        self.assertEqual(texts[0],
                         "step5's first 64 training images: rotated ±6°, shifted ±1 px")
        self.assertEqual(len(root.findall(f"{SVG}image")), 64)
        self.assertEqual(texts[1:5], ["5", "0", "4", "1"])  # MNIST's first training labels

    def test_a_results_file_keeps_the_step_files_text(self):
        self.assertEqual(run("--dry-run", "--epochs", "1", "--out", self.path("r.json"))[0], 0)
        with open(step5.__file__) as f:
            self.assertEqual(read_json(self.path("r.json"))["step_file"], f.read())


class ProgressTest(TempDir):
    """A progress line within each epoch on a terminal, and nothing of it in a pipe or a file."""
    RUN = ("import sys\nfrom unittest import mock\nimport common, step5\n"
           "with mock.patch.object(common, 'max_batches', lambda args: 40):  # a short epoch\n"
           "    common.main(step5.__file__, step5.make_net, step5.HPARAMS, sys.argv[1:])\n")

    def command(self, name):
        return [sys.executable, "-c", self.RUN, "--epochs", "1", "--data-dir", DATA, "--out",
                self.path(name)]

    @unittest.skipUnless(os.name == "posix", "a pseudo-terminal needs the pty module (POSIX)")
    def test_a_terminal_sees_each_epochs_progress_cleared_before_its_line(self):
        import pty
        main, child = pty.openpty()
        with subprocess.Popen(self.command("t.json"), stdout=child, stderr=child,
                              cwd=HERE) as process:
            os.close(child)
            said = b""
            while True:
                try:
                    chunk = os.read(main, 4096)
                except OSError:  # the child has gone: its side of the terminal is closed
                    break
                if not chunk:
                    break
                said += chunk
        os.close(main)
        text = said.decode()
        self.assertEqual(process.returncode, 0, text)
        shown = re.findall(r"\repoch  1/1  batch (\d+)/40  \d+s, about \d+s left", text)
        self.assertGreater(len(shown), 0)
        self.assertEqual(shown[0], "1")  # from the first batch on
        self.assertTrue(all(int(done) < 40 for done in shown))
        self.assertIn("\r" + " " * 79 + "\repoch  1/1  lr ", text)  # cleared, then the epoch

    def test_a_pipe_gets_the_epoch_lines_and_no_progress(self):
        done = subprocess.run(self.command("p.json"), capture_output=True, text=True, cwd=HERE,
                              timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertNotIn("\r", done.stdout)
        self.assertNotIn("batch ", done.stdout)
        self.assertEqual(len(re.findall(r"^epoch  1/1  lr ", done.stdout, re.M)), 1)


class EvalTest(TempDir):
    """--eval: saved weights evaluated, or refused in one line."""

    def test_the_shipped_weights_are_reported_as_a_run_is(self):
        out = self.path("e.json")
        code, stdout, stderr = run("--eval", SHIPPED, "--out", out)
        self.assertEqual(code, 0, stderr)
        # 50 mistakes when they were saved; another CPU's arithmetic may move one image
        said = re.search(rf"what {re.escape(SHIPPED)} \(seed 1, epoch 15\) gets wrong: (\d+) of "
                         r"10,000 test images \((\d+\.\d\d)% right\)", stdout)
        self.assertIsNotNone(said, stdout)
        mistakes = int(said[1])
        self.assertLessEqual(abs(mistakes - 50), 1)
        self.assertEqual(said[2], f"{100 - mistakes / 100:.2f}")
        self.assertIn(f"mistakes: {self.path('e-eval-mistakes.svg')}", stdout)
        self.assertIn(f"evaluation: {self.path('e-eval.json')}", stdout)
        self.assertIn("confusion matrix", stdout)
        root = ET.parse(self.path("e-eval-mistakes.svg")).getroot()
        self.assertEqual(len(root.findall(f".//{SVG}image")), mistakes)
        evaluation = read_json(self.path("e-eval.json"))
        self.assertEqual([evaluation[k] for k in ("eval", "seed", "epoch")], [SHIPPED, 1, 15])
        self.assertEqual(evaluation["errors"]["mistakes"], mistakes)
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

    def test_weights_are_checked_before_a_file_is_claimed_and_say_their_step(self):
        open(self.path("e-eval.json"), "w").close()  # an earlier evaluation's name, taken
        step4 = importlib.import_module("step4")
        code, stdout, stderr = run("--eval", SHIPPED, "--out", self.path("e.json"), step=step4)
        self.assertEqual((code, stdout), (2, ""))
        self.assertEqual(stderr, f"step4.py: error: argument --eval: {SHIPPED}: step5's weights, "
                                 "not step4's\n")
        self.assertEqual(os.listdir(self.tmp), ["e-eval.json"])

    def test_an_evaluations_file_says_it_was_a_dry_run_and_on_how_many_images(self):
        self.assertEqual(run("--eval", SHIPPED, "--dry-run", "--out", self.path("e.json"))[0], 0)
        evaluation = read_json(self.path("e-eval.json"))
        self.assertEqual([evaluation[k] for k in ("dry_run", "test_images", "status")],
                         [True, 3 * common.TEST_BATCH_SIZE, "complete"])
        self.assertIn("HPARAMS = dict(", evaluation["step_file"])


if __name__ == "__main__":
    unittest.main()
