"""Step 6 recipe screen: the shape step6w16x16x12 (7,494 parameters) with levers as flags.

Target: under 8,000 parameters, 99.4% on every seed (the recipe screen for step6.py).
Change: step5.py with 12 channels in its 5th and 6th convolutions; step 5's recipe, plus `ema`
(an exponential moving average of the weights, off at 0) so that a flag can turn it on.
Run: PYTHONPATH=. python results/step6-recipe/narrow.py --seeds 561-568 [levers] --out ...
"""
import torch.nn as nn

from common import main

HPARAMS = dict(
    epochs=15,
    batch_size=128,
    lr=0.1,
    momentum=0.9,
    weight_decay=5e-4,
    one_cycle=dict(three_phase=True, cycle_momentum=False),
    rotation=6,  # degrees, training only
    translate=1,  # pixels, training only
    dropout=0.01,
    ema=0,  # a decay per batch; 0: the model is the trained weights themselves
)


def make_net(hp):
    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.BatchNorm2d(8), nn.Dropout2d(hp["dropout"]),
        nn.Conv2d(8, 8, 3), nn.ReLU(), nn.BatchNorm2d(8), nn.Dropout2d(hp["dropout"]),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.BatchNorm2d(16), nn.Dropout2d(hp["dropout"]),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3), nn.ReLU(), nn.BatchNorm2d(16), nn.Dropout2d(hp["dropout"]),
        nn.Conv2d(16, 12, 3), nn.ReLU(), nn.BatchNorm2d(12), nn.Dropout2d(hp["dropout"]),
        nn.Conv2d(12, 12, 3), nn.ReLU(), nn.BatchNorm2d(12), nn.Dropout2d(hp["dropout"]),
        nn.Conv2d(12, 10, 1), nn.ReLU(), nn.BatchNorm2d(10), nn.Dropout2d(hp["dropout"]),
        nn.AvgPool2d(5),
        nn.Flatten(),
        nn.LogSoftmax(dim=1),
    )


if __name__ == "__main__":
    main(__file__, make_net, HPARAMS)
