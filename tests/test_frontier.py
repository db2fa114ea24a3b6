"""results/step6-twopool/frontier.py: final accuracy against parameters, a column per network
at its parameters, rows of one count side by side within 5% of it (or a panel of their own),
no colour twice."""
import importlib.util
import os
import unittest
import xml.etree.ElementTree as ET

import common

from tests.helpers import HERE, SVG
from tests.test_compare import CompareFiles

spec = importlib.util.spec_from_file_location(
    "frontier", os.path.join(HERE, "results", "step6-twopool", "frontier.py"))
frontier = importlib.util.module_from_spec(spec)
spec.loader.exec_module(frontier)


class FrontierTest(unittest.TestCase):
    def draw(self, counts):
        epochs = {s: [{"epoch": 1, "test_acc": 99.3 + s / 10, "train_acc": 99.0, "seconds": 1.0}]
                  for s in (1, 2)}
        runs = [{"seed": s, "epochs": e, **common.outcome(e)} for s, e in epochs.items()]
        return ET.fromstring(frontier.frontier_svg(
            {name: (p, runs) for name, p in counts.items()}, 99.4, ""))

    def means(self, root):
        """Each row's mean bar: its x and its colour, read from the picture."""
        return {m.find(f"{SVG}title").text.split(":")[0]: (
            (float(m.get("x1")) + float(m.get("x2"))) / 2, m.get("stroke"))
            for m in root.findall(f"{SVG}line[@class='mean']")}

    def axis(self, root):
        """The parameter axis as the picture labels it: x of a count, from two of its ticks."""
        ticks = {int(t.text.replace(",", "")): float(t.get("x")) for t in root.iter(f"{SVG}text")
                 if t.text and t.text.replace(",", "").isdigit() and int(
                     t.text.replace(",", "")) >= 1000}
        (p0, x0), (p1, x1) = min(ticks.items()), max(ticks.items())
        return lambda x: p0 + (x - x0) * (p1 - p0) / (x1 - x0)  # parameters at x

    def test_each_column_stands_within_5_percent_of_its_count_and_neighbours_never_swap(self):
        counts = {"a": 3762, "b": 3762, "c": 5000, "d": 7494, "e": 7618, "f": 9142}
        root = self.draw(counts)
        means, at = self.means(root), self.axis(root)
        for name, p in counts.items():
            self.assertLessEqual(abs(at(means[name][0]) - p), 0.05 * p, name)
        self.assertLess(at(means["d"][0]), 7618)
        self.assertLess(means["d"][0], 8000)
        self.assertLess(at(means["d"][0]), at(means["e"][0]))
        self.assertGreater(means["b"][0] - means["a"][0], 5)  # side by side, not on each other
        dots = [float(c.get("cx")) for c in root.findall(f"{SVG}circle[@class='final']")]
        self.assertEqual(len(set(dots)), 12)  # no dot on another

    def test_the_readmes_frontier_puts_each_column_at_its_count(self):
        root = ET.parse(os.path.join(HERE, "results", "step6-twopool", "frontier.svg")).getroot()
        means, at = self.means(root), self.axis(root)
        texts = [t.text or "" for t in root.iter(f"{SVG}text")]
        counts = {text.split(": ")[1].split(", ")[0]: int(text.split(", ")[1].split()[0].replace(
            ",", "")) for text in texts if text.endswith(" held") and ": " in text}
        self.assertEqual(set(counts), set(means))
        for name, p in counts.items():
            if at(means[name][0]) > 10_500:  # right of the axis: in the panel of its count
                self.assertIn(f"all at {p:,}", texts, name)
            else:
                self.assertLessEqual(abs(at(means[name][0]) - p), 0.05 * p, name)

    def test_close_columns_labels_take_levels_of_their_own(self):
        self.assertEqual(frontier.label_levels([0, 10, 20, 100, 105], 28, 4), [0, 1, 2, 0, 1])
        self.assertEqual(frontier.label_levels([0, 1, 2, 3, 4], 28, 4), [0, 1, 2, 3, 0])

    def test_a_crowded_count_gets_a_panel_of_its_own_that_names_it(self):
        counts = {"a": 3762, **{f"r{k}": 7494 for k in range(5)}, "z": 9142}
        root = self.draw(counts)
        means, at = self.means(root), self.axis(root)
        texts = [t.text for t in root.iter(f"{SVG}text")]
        self.assertIn("all at 7,494", texts)
        self.assertIn("5 rows: right", texts)
        pointer = root.find(f"{SVG}line[@class='pointer']")
        self.assertAlmostEqual(at(float(pointer.get("x1"))), 7494, delta=1)
        panel = [means[f"r{k}"][0] for k in range(5)]
        self.assertGreater(min(panel), means["z"][0])  # right of the axis' last column
        self.assertEqual(panel, sorted(panel))
        for name in ("a", "z"):
            self.assertLessEqual(abs(at(means[name][0]) - counts[name]), 0.05 * counts[name])

    def test_no_colour_twice_in_one_picture(self):
        counts = {f"n{k}": 3000 + 250 * k for k in range(24)}
        colours = [colour for _, colour in self.means(self.draw(counts)).values()]
        self.assertEqual(len(colours), 24)
        self.assertEqual(len(set(colours)), 24)
        self.assertNotIn("#d62728", colours)  # the target's red


class FrontierFilesTest(CompareFiles):
    def test_the_frontier_draws_each_seed_each_mean_and_each_held_count(self):
        out = self.path("frontier.svg")
        code, table, _ = self.compare(*self.files, "--out", out, draw=frontier.frontier)
        self.assertEqual(code, 0)
        self.assertIn("| stepA |", table)  # the table as ever
        root = ET.parse(out).getroot()
        self.assertEqual(len(root.findall(f"{SVG}circle[@class='final']")), 5)
        self.assertEqual(len(root.findall(f"{SVG}polygon[@class='final']")), 1)  # stepC, 80%
        means = {m.find(f"{SVG}title").text for m in root.findall(f"{SVG}line[@class='mean']")}
        self.assertEqual(means, {"stepA: mean 99.300%", "stepB: mean 99.000%",
                                 "stepC: mean 80.000%"})
        texts = [t.text for t in root.iter(f"{SVG}text")]
        self.assertIn("1: stepA, 9,142 parameters, seeds 1-3: 1/3 held", texts)
        self.assertEqual(sorted(t.text for t in root.findall(f"{SVG}text[@class='held']")),
                         ["0/1", "0/2", "1/3"])
        self.assertIn("parameters", texts)


if __name__ == "__main__":
    unittest.main()
