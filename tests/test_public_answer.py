"""The 3,762 public answer's own augmentation (results/public-answer/public3762.py): training only,
each half of it on about half the images, and within its limits."""
import importlib.util
import os
import unittest

import torch

from tests.helpers import HERE


def load_public3762():
    path = os.path.join(HERE, "results", "public-answer", "public3762.py")
    spec = importlib.util.spec_from_file_location("public3762", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class AugmentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.public = load_public3762()

    def normalized(self, pixels):
        return (pixels - self.public.MEAN) / self.public.STD

    def test_in_evaluation_the_images_pass_unchanged(self):
        images = torch.rand(4, 1, 28, 28)
        self.assertIs(self.public.Augment().eval()(images), images)

    def test_brightness_and_contrast_change_about_half_the_images_by_at_most_20_percent(self):
        torch.manual_seed(0)
        grey = self.normalized(torch.full((2000, 1, 28, 28), 0.5))  # the warp keeps the middle
        out = self.public.Augment().train()(grey) * self.public.STD + self.public.MEAN
        middle = out[:, 0, 14, 14]
        changed = (middle - 0.5).abs() > 1e-4
        self.assertTrue(0.45 < changed.float().mean() < 0.55, changed.float().mean())
        # contrast 1 +- 0.2 times 0.5, plus brightness +- 0.2: within 0.5 +- 0.3
        self.assertLessEqual((middle - 0.5).abs().max().item(), 0.3 + 1e-5)
        self.assertGreater((middle - 0.5).abs().max().item(), 0.2)
        self.assertGreaterEqual(out.min().item(), 0.0)
        self.assertLessEqual(out.max().item(), 1.0 + 1e-6)

    def test_the_warp_moves_about_half_the_images_by_at_most_9_percent_of_the_width(self):
        torch.manual_seed(0)
        dot = torch.zeros(2000, 1, 28, 28)
        dot[:, :, 13:15, 13:15] = 1.0  # a dot at the centre: rotation and scale keep it there
        augment = self.public.Augment().train()
        out = augment(self.normalized(dot)) * self.public.STD + self.public.MEAN
        out = out - out[:, :, :1, :1]  # brightness lifts the black background: take it away
        weights = out.clamp(min=0).sum((1, 2, 3))
        rows = (out.clamp(min=0).sum((1, 3)) * torch.arange(28)).sum(1) / weights
        cols = (out.clamp(min=0).sum((1, 2)) * torch.arange(28)).sum(1) / weights
        moved = torch.maximum((rows - 13.5).abs(), (cols - 13.5).abs())
        self.assertTrue(0.4 < (moved > 0.05).float().mean() < 0.6)
        self.assertLessEqual(moved.max().item(), 0.09 * 28 + 0.1)
        self.assertGreater(moved.max().item(), 0.06 * 28)


if __name__ == "__main__":
    unittest.main()
