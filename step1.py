"""Step 1: the set-up.

Target: a working pipeline end to end (data, a first network, train and test loops), any size.
Change: none yet: eight 3x3 convolutions, the last one (no ReLU) giving the 10 outputs; batch 128.
Result: 15,530 params, final 98.769% ± 0.416, min 97.78%; 99.4% reached 0/8, held 0/8 (301-308).
Analysis: it works, but too big and too weak; unnormalised, one seed sits at 11% for two epochs.
"""
from common import main  # first: Ctrl-C is one line even while torch loads
import torch.nn as nn

HPARAMS = dict(
    epochs=15,
    batch_size=128,
    lr=0.01,
    momentum=0.9,
    weight_decay=0,
    one_cycle=None,
    rotation=0,  # degrees, training only
    translate=0,  # pixels, training only
)


def make_net(hp):
    return nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.ReLU(),
        nn.Conv2d(16, 16, 3), nn.ReLU(),
        nn.Conv2d(16, 16, 3), nn.ReLU(),
        nn.MaxPool2d(2),  # after the 3rd conv (the exercise's steps 2-5: the 4th); see README
        nn.Conv2d(16, 16, 3), nn.ReLU(),
        nn.Conv2d(16, 16, 3), nn.ReLU(),
        nn.Conv2d(16, 16, 3), nn.ReLU(),
        nn.Conv2d(16, 16, 3), nn.ReLU(),
        nn.Conv2d(16, 10, 3),
        nn.Flatten(),
        nn.LogSoftmax(dim=1),
    )


if __name__ == "__main__":
    main(__file__, make_net, HPARAMS)
