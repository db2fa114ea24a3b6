"""results/recipes.py: the schedules and the optimizer that only the scripts in results/ use."""
import unittest

import torch

from results.recipes import make_training


def one_weight():
    return torch.nn.Linear(1, 1, bias=False)


def batch_rates(hp, epochs=15, batches=3):
    """The rate each batch of each epoch trained at, a list per epoch."""
    optimizer, scheduler = make_training(one_weight(), hp, batches)
    rates = []
    for epoch in range(epochs):
        rates.append([])
        for batch in range(batches):
            optimizer.step()
            rates[-1].append(optimizer.param_groups[0]["lr"])
            scheduler.step()
    return rates


class RecipesTest(unittest.TestCase):
    def test_step_lr_changes_the_rate_every_step_size_epochs(self):
        hp = dict(lr=0.01, momentum=0.9, weight_decay=0, step_lr=dict(step_size=5, gamma=0.15))
        expected = [0.01] * 5 + [0.0015] * 5 + [0.000225] * 5
        for rates, want in zip(batch_rates(hp), expected):
            self.assertAlmostEqual(rates[0], want)

    def test_lr_points_set_the_rate_per_epoch_on_straight_lines_between_them(self):
        points = ((0, 0.5), (2, 1.0), (8, 0.1), (12, 0.05), (15, 0.0))
        hp = dict(lr=0.1, momentum=0.95, weight_decay=0, lr_points=points)
        expected = [0.05, 0.075, 0.1, 0.085, 0.07, 0.055, 0.04, 0.025, 0.01, 0.00875, 0.0075,
                    0.00625, 0.005, 0.005 * 2 / 3, 0.005 / 3]
        for rates, want in zip(batch_rates(hp), expected):
            for rate in rates:  # one rate through the epoch
                self.assertAlmostEqual(rate, want)

    def test_adam_where_asked_else_sgd_with_its_momentum(self):
        hp = dict(lr=0.005, momentum=0.9, weight_decay=0, step_lr=dict(step_size=8, gamma=0.1))
        adam, _ = make_training(one_weight(), dict(hp, optimizer="adam"), 3)
        sgd, _ = make_training(one_weight(), hp, 3)
        self.assertIsInstance(adam, torch.optim.Adam)
        self.assertIsInstance(sgd, torch.optim.SGD)
        self.assertEqual(sgd.param_groups[0]["momentum"], 0.9)


if __name__ == "__main__":
    unittest.main()
