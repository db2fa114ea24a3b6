"""Step 4: a learning-rate schedule.

Target: steadier, higher test accuracy late in training from a learning-rate schedule.
Result: RESULT4
Analysis: ANALYSIS4
"""
import torch.nn as nn

from common import main

HPARAMS = dict(
    epochs=15,
    batch_size=64,
    lr=0.01,
    momentum=0.9,
    weight_decay=0,
    lr_schedule=dict(name="StepLR", step_size=5, gamma=0.15),  # stepped once per epoch
    rotation=0,  # degrees, training only
)


def make_net():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.BatchNorm2d(8),
        nn.Conv2d(8, 8, 3), nn.ReLU(), nn.BatchNorm2d(8),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.BatchNorm2d(16),
        nn.Conv2d(16, 16, 3), nn.ReLU(), nn.BatchNorm2d(16),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3), nn.ReLU(), nn.BatchNorm2d(16),
        nn.Conv2d(16, 16, 3), nn.ReLU(), nn.BatchNorm2d(16),
        nn.Conv2d(16, 10, 1), nn.ReLU(), nn.BatchNorm2d(10),
        nn.AvgPool2d(6),  # global average pooling over the 6x6 map
        nn.Flatten(),
        nn.LogSoftmax(dim=1),
    )


if __name__ == "__main__":
    main(__file__, make_net, HPARAMS)
