"""results/step6-twopool/frontier.py: final accuracy against parameters, a column per network
where its parameters put it, and neighbours side by side."""
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
    def test_networks_of_one_size_or_near_it_stand_side_by_side_on_the_frontier(self):
        epochs = {s: [{"epoch": 1, "test_acc": 99.3 + s / 10, "train_acc": 99.0, "seconds": 1.0}]
                  for s in (1, 2)}
        runs = [{"seed": s, "epochs": e, **common.outcome(e)} for s, e in epochs.items()]
        rows = {"a": 3762, "b": 3762, "c": 5000, "d": 7494, "e": 7618, "f": 9142}
        root = ET.fromstring(frontier.frontier_svg(
            {name: (p, runs) for name, p in rows.items()}, 99.4, ""))
        x = {m.find(f"{SVG}title").text[0]: (float(m.get("x1")) + float(m.get("x2"))) / 2
             for m in root.findall(f"{SVG}line[@class='mean']")}
        self.assertAlmostEqual(x["b"] - x["a"], 40)
        self.assertAlmostEqual(x["e"] - x["d"], 40)  # 124 parameters apart: moved apart
        scale = (x["f"] - x["c"]) / (9142 - 5000)  # the columns far from others where they belong
        self.assertAlmostEqual((x["d"] + x["e"]) / 2 - x["c"], scale * (7556 - 5000), delta=0.2)
        self.assertAlmostEqual(x["c"] - (x["a"] + x["b"]) / 2, scale * (5000 - 3762), delta=0.2)
        dots = [float(c.get("cx")) for c in root.findall(f"{SVG}circle[@class='final']")]
        self.assertEqual(len(set(dots)), 12)  # no dot on another

    def test_spread_moves_only_the_crowded_and_keeps_their_order(self):
        self.assertEqual(frontier.spread([0, 100, 200], 40), [0, 100, 200])
        self.assertEqual(frontier.spread([0, 10, 100], 40), [-15, 25, 100])
        chain = frontier.spread([0, 10, 60], 40)  # the first two pushed into the third: one run
        self.assertEqual([round(x, 2) for x in chain], [-16.67, 23.33, 63.33])


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
                         ["0/1 held", "0/2 held", "1/3 held"])
        self.assertIn("parameters", texts)


if __name__ == "__main__":
    unittest.main()
