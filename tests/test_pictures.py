"""pictures.py: the pictures, drawn from records, importing nothing of the project."""
import unittest
import xml.etree.ElementTree as ET

import pictures
from tests.helpers import SVG


class CurvesTest(unittest.TestCase):
    def test_a_line_per_seed_both_axes_labelled_and_a_mark_for_what_is_below_the_scale(self):
        def epoch(n, acc):
            return {"epoch": n, "train_acc": acc, "test_acc": acc, "train_loss": 1 / n,
                    "test_loss": 1 / n}
        records = [{"seed": s, "epochs": [epoch(1, 50.0), epoch(2, 99.0), epoch(3, 99.5)]}
                   for s in (1, 2)]
        root = ET.fromstring(pictures.curves_svg("t", records, 3, 99.4))
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
