"""results/compare.py: steps side by side, a table and a picture from results files."""
import contextlib
import io
import json
import os
import shutil
import unittest
import xml.etree.ElementTree as ET

import step5
from results import compare
from tests.helpers import HERE, SVG, TempDir, contents, read_json, results_file


class CompareFiles(TempDir):
    """Four hand-made results files, and compare.py run on files in this process."""
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

    def compare(self, *argv, **how):
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                compare.main(list(argv), **how)
                code = 0
            except SystemExit as e:
                code = e.code
        return code, stdout.getvalue(), stderr.getvalue()


class CompareTest(CompareFiles):
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
        self.assertIn("stepC: seed 7, 4 epochs", table)  # one seed, said so

    def test_a_variant_is_a_row_of_its_own_named_by_its_overrides(self):
        variant = results_file(self.path("v.json"), "stepA", {1: [99.0, 99.0, 99.0, 99.0]},
                               overrides={"rotation": 0.0, "weight_decay": 0.0005})
        code, table, _ = self.compare(self.files[0], variant)
        self.assertEqual([r.split(" | ")[0] for r in self.rows(table)[1:]],
                         ["| stepA", "| stepA rotation=0 weight_decay=0.0005"])

    def test_one_step_name_with_two_networks_is_two_rows_named_by_their_parameters(self):
        other = self.path("a-other.json")
        results_file(other, "stepA", {9: [99.0, 99.0, 99.0, 99.0]})
        with open(other) as f:
            results = json.load(f)
        with open(other, "w") as f:
            json.dump({**results, "parameters": 7618}, f)
        code, table, _ = self.compare(self.files[0], other)
        self.assertEqual([r.split(" | ")[:2] for r in self.rows(table)[1:]],
                         [["| stepA (9,142 params)", "9,142"], ["| stepA (7,618 params)", "7,618"]])

    def test_runs_of_different_settings_are_rows_of_their_own_named_by_what_differs(self):
        without = results_file(self.path("m0.json"), "stepA", {1: [99.0, 99.1, 99.2, 99.3]},
                               hyperparameters={"epochs": 4, "momentum": 0})
        with_ = results_file(self.path("m95.json"), "stepA", {1: [99.0, 99.2, 99.4, 99.6],
                                                              2: [99.0, 99.2, 99.4, 99.5]},
                             hyperparameters={"epochs": 4, "momentum": 0.95})
        code, table, _ = self.compare(without, with_)
        self.assertEqual(code, 0)
        self.assertEqual([r.split(" | ")[:3] for r in self.rows(table)[1:]],
                         [["| stepA (momentum=0)", "9,142", "99.300%"],
                          ["| stepA (momentum=0.95)", "9,142", "99.550% ± 0.071"]])

    def test_a_named_row_keeps_its_files_apart_from_files_of_the_same_settings(self):
        code, table, _ = self.compare(self.files[0], "--row", "stepA (confirming)", self.files[1])
        self.assertEqual(code, 0)
        self.assertEqual([r.split(" | ")[:3] for r in self.rows(table)[1:]],
                         [["| stepA", "9,142", "99.450% ± 0.212"],
                          ["| stepA (confirming)", "9,142", "99.000%"]])
        self.assertIn("stepA (confirming): seed 3, 4 epochs", table)
        code, _, stderr = self.compare(self.files[0], "--row", "no files")
        self.assertEqual((code, stderr.strip()),
                         (2, "compare.py: error: argument --row: a name, then its results files"))

    def test_a_seed_in_two_files_of_one_row_is_kept_once_and_said(self):
        again = results_file(self.path("again.json"), "stepA", {1: [99.0, 99.0, 99.0, 99.0]})
        code, table, _ = self.compare(self.files[0], again)
        self.assertEqual(code, 0)
        self.assertEqual(self.rows(table)[1].split(" | ")[2], "99.450% ± 0.212")  # a1's 1 and 2
        self.assertIn(f"stepA: seed 1 is in an earlier file too; {again}'s left out", table)

    def test_short_seeds_are_left_out_and_said_and_mixed_machines_give_no_seconds(self):
        short = results_file(self.path("s.json"), "stepA", {4: [99.0, 99.5], 5: [99.0] * 4},
                             seconds=9.0, device_name="another CPU", status="interrupted")
        code, table, _ = self.compare(self.files[0], short)
        self.assertEqual(self.rows(table)[1].split(" | ")[-1], "mixed |")  # 2 s and 9 s: no figure
        self.assertIn("stepA: seeds 1 2 5, 4 epochs, cpu (mixed machines: a CPU; another CPU)",
                      table)
        self.assertIn(f"stepA: {short} is interrupted; left out: seed 4 (2 of 4 epochs)", table)

    def test_picture_has_a_median_per_row_a_bar_per_row_and_epoch_and_a_mark_per_seed(self):
        out = self.path("steps.svg")
        self.assertEqual(self.compare(*self.files, "--out", out)[0], 0)
        root = ET.parse(out).getroot()
        self.assertEqual(len(root.findall(f"{SVG}polyline[@class='median']")), 3)
        bars = root.findall(f"{SVG}line[@class='spread']")
        self.assertEqual(len(bars), 3 * 4)  # three rows, four epochs each
        [a4] = [b for b in bars if b.find(f"{SVG}title").text.startswith("stepA, epoch 4:")]
        self.assertEqual(a4.find(f"{SVG}title").text, "stepA, epoch 4: 99.00-99.60%, median 99.30%")
        self.assertLess(float(a4.get("y2")), float(a4.get("y1")))  # the highest seed higher up
        self.assertEqual(len(root.findall(f"{SVG}circle[@class='final']")), 5)
        # the stalled seed's final, far below the others, is a triangle on the bottom edge
        [stalled] = root.findall(f"{SVG}polygon[@class='final']")
        self.assertEqual(stalled.find(f"{SVG}title").text, "stepC, seed 7: 80.00%")
        texts = [t.text for t in root.iter(f"{SVG}text")]
        for text in ("80.00", "99.4%", "test accuracy (%)", "epoch", "1: stepA", "3: stepC",
                     "99.4%: the target", "on a floor: below its scale"):
            self.assertIn(text, texts)
        # the target is labelled once on the panels, right of the right panel
        [label] = [t for t in root.iter(f"{SVG}text") if t.text == "99.4%"]
        right_panel = max(root.findall(f"{SVG}rect[@fill='none']"), key=lambda r: float(r.get("x")))
        self.assertGreater(float(label.get("x")),
                           float(right_panel.get("x")) + float(right_panel.get("width")))
        # a legend swatch is drawn in its line's colour, at full strength
        [median_a] = [p for p in root.findall(f"{SVG}polyline[@class='median']")
                      if p.find(f"{SVG}title").text == "stepA: median"]
        [swatch] = [line for line in root.findall(f"{SVG}line")
                    if line.get("stroke") == median_a.get("stroke") and not line.get("class")]
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
        drawn = contents(picture)
        self.assertEqual(self.compare(*self.files, "--out", picture)[0], 0)  # its own, again
        self.assertEqual(contents(picture), drawn)
        code, stdout, _ = self.compare(self.files[0], "--out", picture)  # from other files
        self.assertEqual(code, 0)
        self.assertIn(f"{picture} was drawn from other files, kept as it is; this one draws "
                      f"{self.path('steps.1.svg')}", stdout)
        self.assertEqual(contents(picture), drawn)
        medians = ET.parse(self.path("steps.1.svg")).getroot().findall(
            f"{SVG}polyline[@class='median']")
        self.assertEqual(len(medians), 1)

    def test_out_under_a_file_says_it_is_a_file(self):
        a_file = self.path("README.md")
        open(a_file, "w").close()
        code, _, stderr = self.compare(*self.files, "--out", os.path.join(a_file, "x.svg"))
        self.assertEqual((code, stderr), (2, f"compare.py: error: argument --out: {a_file} is a "
                                             "file, not a folder\n"))

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

    def test_a_one_epoch_run_far_below_the_target_is_drawn(self):
        short = results_file(self.path("s.json"), "stepS", {1: [9.0], 2: [11.0]}, epochs=1)
        self.assertEqual(self.compare(short, "--out", self.path("s.svg"))[0], 0)
        root = ET.parse(self.path("s.svg")).getroot()
        [median] = root.findall(f"{SVG}circle[@class='median']")  # one epoch: a dot, not a line
        self.assertEqual(median.find(f"{SVG}title").text, "stepS: median")
        self.assertEqual(len(root.findall(f"{SVG}polygon[@class='final']")), 2)  # under the scale


class ComparisonPictureTest(unittest.TestCase):
    def test_the_legend_is_one_column_right_of_the_panels_and_no_colour_is_twice(self):
        runs = [{"seed": 1, "epochs": [{"epoch": 1, "test_acc": 99.0},
                                       {"epoch": 2, "test_acc": 99.5}]}]
        root = ET.fromstring(compare.comparison_svg({f"s{i}": runs for i in range(12)}, 99.4))
        x = {t.text: float(t.get("x")) for t in root.iter(f"{SVG}text") if t.get("x")}
        panels = root.findall(f"{SVG}rect[@fill='none']")
        right = max(float(r.get("x")) + float(r.get("width")) for r in panels)
        self.assertEqual({x[f"{i + 1}: s{i}"] for i in range(12)}, {x["1: s0"]})
        self.assertGreater(x["1: s0"], right)
        medians = root.findall(f"{SVG}polyline[@class='median']")
        self.assertEqual(len({m.get("stroke") for m in medians}), 12)


if __name__ == "__main__":
    unittest.main()
