"""The 3,762 public answer's own augmentation (results/public-answer/public3762.py): training only,
each half of it on about half the images, and within its limits; with reflect, 8-bit levels and
no black border."""
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
        self.assertIs(self.public.Augment(0).eval()(images), images)

    def test_brightness_and_contrast_change_about_half_the_images_by_at_most_20_percent(self):
        torch.manual_seed(0)
        grey = self.normalized(torch.full((2000, 1, 28, 28), 0.5))  # the warp keeps the middle
        out = self.public.Augment(0).train()(grey) * self.public.STD + self.public.MEAN
        middle = out[:, 0, 14, 14]
        changed = (middle - 0.5).abs() > 1e-4
        self.assertTrue(0.45 < changed.float().mean() < 0.55, changed.float().mean())
        # contrast 1 +- 0.2 times 0.5, plus brightness +- 0.2: within 0.5 +- 0.3
        self.assertLessEqual((middle - 0.5).abs().max().item(), 0.3 + 1e-5)
        self.assertGreater((middle - 0.5).abs().max().item(), 0.2)
        self.assertGreaterEqual(out.min().item(), 0.0)
        self.assertLessEqual(out.max().item(), 1.0 + 1e-6)

    def test_the_warp_moves_about_half_the_images_by_at_most_9_percent_of_the_width(self):
        for reflect in (0, 1):
            with self.subTest(reflect=reflect):
                self.check_the_warp(self.public.Augment(reflect).train())

    def check_the_warp(self, augment):
        torch.manual_seed(0)
        dot = torch.zeros(2000, 1, 28, 28)
        dot[:, :, 13:15, 13:15] = 1.0  # a dot at the centre: rotation and scale keep it there
        out = augment(self.normalized(dot)) * self.public.STD + self.public.MEAN
        out = out - out[:, :, :1, :1]  # brightness lifts the black background: take it away
        weights = out.clamp(min=0).sum((1, 2, 3))
        rows = (out.clamp(min=0).sum((1, 3)) * torch.arange(28)).sum(1) / weights
        cols = (out.clamp(min=0).sum((1, 2)) * torch.arange(28)).sum(1) / weights
        moved = torch.maximum((rows - 13.5).abs(), (cols - 13.5).abs())
        self.assertTrue(0.4 < (moved > 0.05).float().mean() < 0.6)
        self.assertLessEqual(moved.max().item(), 0.09 * 28 + 0.1)
        self.assertGreater(moved.max().item(), 0.06 * 28)

    def levels_and_uniform_images(self, reflect):
        """A grey image warped 2,000 times: its pixels in 8-bit levels, and how many stay grey
        all over (brightness and contrast move a whole image at once)."""
        torch.manual_seed(0)
        grey = self.normalized(torch.full((2000, 1, 28, 28), 128 / 255))
        out = self.public.Augment(reflect).train()(grey)
        levels = (out * self.public.STD + self.public.MEAN) * 255
        spread = levels.amax((1, 2, 3)) - levels.amin((1, 2, 3))
        return levels, int((spread < 1e-3).sum())

    def test_with_reflect_the_border_is_the_image_and_pixels_stay_8_bit_levels(self):
        levels, uniform = self.levels_and_uniform_images(reflect=1)
        self.assertEqual(uniform, 2000)  # reflection fills the border with the grey itself
        self.assertLess((levels - levels.round()).abs().max().item(), 1e-3)
        _, uniform = self.levels_and_uniform_images(reflect=0)
        self.assertLess(uniform, 1200)  # black corners on about half


if __name__ == "__main__":
    unittest.main()
