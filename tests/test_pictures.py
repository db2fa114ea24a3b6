"""pictures.py: the pictures, drawn from records, importing nothing of the project."""
import glob
import os
import unittest
import xml.etree.ElementTree as ET

import torch

import pictures
from tests.helpers import HERE, SVG


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

    def test_a_one_epoch_line_draws_its_point(self):
        records = [{"seed": 1, "epochs": [{"epoch": 1, "train_acc": 97.0, "test_acc": 98.0,
                                           "train_loss": 0.1, "test_loss": 0.05}]}]
        root = ET.fromstring(pictures.curves_svg("t", records, 1, 99.4))
        self.assertEqual(root.findall(f"{SVG}polyline"), [])
        self.assertEqual(len(root.findall(f"{SVG}circle")), 4)  # train and test, loss and accuracy

    def test_a_long_title_is_wrapped_to_fit_never_cut(self):
        title = "step5 seed 1's final model"
        images = torch.zeros(150, 1, 28, 28)
        svg = pictures.mistakes_svg(title, images, [3] * 150, [5] * 150, 3000)
        root = ET.fromstring(svg)
        width = float(root.get("width"))
        lines = [t.text for t in root.findall(f"{SVG}text") if t.get("font-size") == "14"]
        self.assertGreater(len(lines), 1)
        self.assertTrue(all(len(line) * 7.7 <= width for line in lines))
        self.assertEqual(" ".join(lines), f"what {title} gets wrong: 150 of 3,000 test images, "
                                          "true as predicted (the first 100 shown)")
        self.assertEqual(len(root.findall(f".//{SVG}image")), 100)


def box_totals(root):
    """{network: [its title's total, each box's parameters]}, read from the picture's text."""
    totals, texts = {}, [t.text or "" for t in root.iter(f"{SVG}text")]
    for text in texts:  # a row's title, then its boxes' texts, then the next row's title
        if text.endswith(" parameters") and ".py: " in text:
            name, total = text.split(": ")
            totals[name] = [int(total.split()[0].replace(",", ""))]
        elif text.endswith(" params") and text[0].isdigit():
            totals[name].append(int(text.split()[0].replace(",", "")))
    return totals


class NetworkTest(unittest.TestCase):
    def rows(self):  # a small network as summarize() gives it: (layer, output shape, params, RF)
        return [("Conv2d", [8, 26, 26], 80, 3), ("ReLU", [8, 26, 26], 0, 3),
                ("BatchNorm2d", [8, 26, 26], 16, 3), ("MaxPool2d", [8, 13, 13], 0, 4),
                ("Conv2d", [10, 13, 13], 90, 4), ("AvgPool2d", [10, 1, 1], 0, 28),
                ("Flatten", [10], 0, 28), ("LogSoftmax", [10], 0, 28)]

    def test_each_convolution_says_its_kernel_channels_size_parameters_and_field(self):
        root = ET.fromstring(pictures.network_svg([("net.py", self.rows())]))
        texts = [t.text for t in root.iter(f"{SVG}text")]
        self.assertEqual(texts[0], "net.py: 186 parameters")
        for said in ("3x3 conv", "1 → 8", "out 26x26", "96 params", "(80 + 16 BN)", "RF 3",
                     "ReLU BN", "max-pool",
                     "1x1 conv", "8 → 10", "90 params", "global avg pool", "RF 28", "52%"):
            self.assertIn(said, texts)

    def test_a_rows_boxes_add_up_to_the_total_it_sits_under(self):
        wide = [("Conv2d", [32, 26, 26], 320, 3)] + self.rows()[1:]
        root = ET.fromstring(pictures.network_svg([("a.py", self.rows()), ("b.py", wide)]))
        self.assertEqual(box_totals(root), {"a.py": [186, 96, 90], "b.py": [426, 336, 90]})
        shipped = box_totals(ET.parse(os.path.join(HERE, "results", "networks.svg")).getroot())
        self.assertEqual(len(shipped), len(glob.glob(os.path.join(HERE, "step[0-9].py"))))
        for name, (total, *boxes) in shipped.items():  # the README's picture, as committed
            self.assertEqual(sum(boxes), total, name)

    def test_a_box_grows_with_its_output_a_1x1_is_dashed_and_pools_are_no_boxes(self):
        root = ET.fromstring(pictures.network_svg([("net.py", self.rows())]))
        boxes = root.findall(f".//{SVG}rect[@class='conv']")
        self.assertEqual(len(boxes), 2)
        self.assertGreater(float(boxes[0].get("height")), float(boxes[1].get("height")))
        self.assertEqual([b.get("stroke-dasharray") for b in boxes], [None, "3 2"])
        self.assertEqual(len(root.findall(f".//{SVG}polygon[@class='pool']")), 2)

    def test_networks_side_by_side_share_one_scale(self):
        wide = [("Conv2d", [32, 26, 26], 320, 3)] + self.rows()[1:]
        root = ET.fromstring(pictures.network_svg([("a.py", self.rows()), ("b.py", wide)]))
        first = root.findall(f".//{SVG}rect[@class='conv']")
        self.assertEqual(float(first[2].get("width")) / float(first[0].get("width")),
                         (4 + 32 * 70 / 32) / (4 + 8 * 70 / 32))


if __name__ == "__main__":
    unittest.main()
