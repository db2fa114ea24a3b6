"""The budget, step by step: exact parameter counts, under 10,000 from step 2 on, at most 15 epochs;
and step 5's shipped weights at 99.4% or above on the 10,000 test images."""
import importlib
import os
import unittest

import torch

import common
import step5
from common import MAX_EPOCHS, MAX_PARAMETERS, TARGET_ACCURACY

HERE = os.path.dirname(os.path.abspath(__file__))
# Saved by `python step5.py --seed 1 --save-model --out results/step5.json` (see README, Results).
STEP5_WEIGHTS = os.path.join(HERE, "results", "step5-seed1.pt")

# The reference's counts, which each step must match exactly.
PARAMETERS = {"step1": 15_530, "step2": 8_962, "step3": 9_142, "step4": 9_142, "step5": 9_142}


def parameters(step):
    return sum(p.numel() for p in step.make_net(step.HPARAMS).parameters())


class BudgetTest(unittest.TestCase):
    def setUp(self):
        self.steps = {name: importlib.import_module(name) for name in PARAMETERS}

    def test_parameter_counts_match_the_reference(self):
        for name, expected in PARAMETERS.items():
            with self.subTest(step=name):
                self.assertEqual(parameters(self.steps[name]), expected)

    def test_steps_2_to_5_are_under_10000_parameters(self):
        for name in ("step2", "step3", "step4", "step5"):
            with self.subTest(step=name):
                self.assertLess(parameters(self.steps[name]), MAX_PARAMETERS)

    def test_every_step_trains_at_most_15_epochs(self):
        for name, step in self.steps.items():
            with self.subTest(step=name):
                self.assertGreaterEqual(step.HPARAMS["epochs"], 1)
                self.assertLessEqual(step.HPARAMS["epochs"], MAX_EPOCHS)

    def test_every_network_maps_images_to_10_log_probabilities(self):
        torch.manual_seed(0)
        images = torch.rand(5, 1, 28, 28)
        for name, step in self.steps.items():
            with self.subTest(step=name):
                net = step.make_net(step.HPARAMS).eval()
                with torch.no_grad():
                    out = net(images)
                self.assertEqual(tuple(out.shape), (5, 10))
                self.assertTrue(torch.all(out <= 0))
                torch.testing.assert_close(out.exp().sum(1), torch.ones(5))


class ShippedWeightsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.checkpoint = torch.load(STEP5_WEIGHTS, weights_only=True)

    def test_they_were_trained_with_step5s_current_hyperparameters(self):
        self.assertEqual(self.checkpoint["step"], "step5")
        self.assertEqual(self.checkpoint["hyperparameters"], step5.HPARAMS)
        self.assertEqual(self.checkpoint["epoch"], step5.HPARAMS["epochs"])

    def test_they_reach_the_target_on_the_10000_test_images(self):
        data, _ = common.load_mnist(os.path.join(HERE, "data"), torch.device("cpu"),
                                    log=lambda line: None)
        for key in ("mean", "std"):  # as saved, to the last digits a CPU's summing order moves
            self.assertAlmostEqual(data[key], self.checkpoint[key], places=9)
        model = step5.make_net(step5.HPARAMS)
        model.load_state_dict(self.checkpoint["model"])
        _, accuracy, _ = common.evaluate(model, data)
        self.assertEqual(len(data["test"][1]), 10_000)
        self.assertGreaterEqual(accuracy, TARGET_ACCURACY)
        # as recorded when they were saved, give or take one image's rounding on another CPU
        self.assertLessEqual(abs(accuracy - self.checkpoint["test_acc"]), 0.01)


if __name__ == "__main__":
    unittest.main()
