"""Step 1: the set-up.

Target: a working pipeline end to end (data, statistics and samples, a first network, train and
test loops), no matter the size.
Result (ours, `python step1.py`: seed 1, CPU): 15,530 parameters; best test 98.95% (epoch 12),
final 98.86%, 99.4% not reached; best train 99.26%; 32 s an epoch (median). The
reference: best test 98.98%, best train 99.12%.
Analysis: it works end to end, but it has too many parameters and too little accuracy, and train
accuracy above test (99.26% against 98.86%) says it is starting to overfit.
"""
import torch.nn as nn

from common import main

HPARAMS = dict(
    epochs=15,
    batch_size=128,
    lr=0.01,
    momentum=0.9,
    weight_decay=0,
    lr_schedule=None,
    rotation=0,  # degrees, training only
    translate=0,  # pixels, training only
)


def make_net():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.ReLU(),
        nn.Conv2d(16, 16, 3), nn.ReLU(),
        nn.Conv2d(16, 16, 3), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3), nn.ReLU(),
        nn.Conv2d(16, 16, 3), nn.ReLU(),
        nn.Conv2d(16, 16, 3), nn.ReLU(),
        nn.Conv2d(16, 16, 3), nn.ReLU(),
        nn.Conv2d(16, 10, 3),  # 3x3 -> 1x1: the output, no ReLU
        nn.Flatten(),
        nn.LogSoftmax(dim=1),
    )


if __name__ == "__main__":
    main(__file__, make_net, HPARAMS)
