"""The exercise's own step 4, as its notebook ran it, beside step4.py.

Target: the recipe step4.py departs from, measured on the same seeds.
Change: from step3.py, the max-pool after the 4th convolution and StepLR(5, 0.15) at lr 0.01.
Run: PYTHONPATH=. python results/exercise/exercise4.py --seeds 301-308 --out ...
"""
import torch.nn as nn

from common import main
from results.recipes import make_training

HPARAMS = dict(
    epochs=15,
    batch_size=64,
    lr=0.01,
    momentum=0.9,
    weight_decay=0,
    one_cycle=None,
    step_lr=dict(step_size=5, gamma=0.15),  # epochs 1-5 at 0.01, 6-10 at 0.0015, 11-15 at 0.000225
    rotation=0,  # degrees, training only
    translate=0,  # pixels, training only
)


def make_net(hp):
    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.BatchNorm2d(8),
        nn.Conv2d(8, 8, 3), nn.ReLU(), nn.BatchNorm2d(8),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.BatchNorm2d(16),
        nn.Conv2d(16, 16, 3), nn.ReLU(), nn.BatchNorm2d(16),
        nn.MaxPool2d(2),  # after the 4th conv: 20x20 -> 10x10
        nn.Conv2d(16, 16, 3), nn.ReLU(), nn.BatchNorm2d(16),
        nn.Conv2d(16, 16, 3), nn.ReLU(), nn.BatchNorm2d(16),
        nn.Conv2d(16, 10, 1), nn.ReLU(), nn.BatchNorm2d(10),
        nn.AvgPool2d(6),
        nn.Flatten(),
        nn.LogSoftmax(dim=1),
    )


if __name__ == "__main__":
    main(__file__, make_net, HPARAMS, make_training=make_training)
