"""Step 2: fewer parameters (1x1 convolution and global average pooling), smaller batches.

Target: get under 10,000 parameters with fewer kernels, a 1x1 convolution before GAP, and
batches of 64.
Result: RESULT2
Analysis: ANALYSIS2
"""
import torch.nn as nn

from common import main

HPARAMS = dict(
    epochs=15,
    batch_size=64,
    lr=0.01,
    momentum=0.9,
    weight_decay=0,
    lr_schedule=None,
    rotation=0,  # degrees, training only
)


def make_net():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(),
        nn.Conv2d(8, 8, 3), nn.ReLU(),
        nn.Conv2d(8, 16, 3), nn.ReLU(),
        nn.Conv2d(16, 16, 3), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3), nn.ReLU(),
        nn.Conv2d(16, 16, 3), nn.ReLU(),
        nn.Conv2d(16, 10, 1), nn.ReLU(),
        nn.AvgPool2d(6),  # global average pooling over the 6x6 map
        nn.Flatten(),
        nn.LogSoftmax(dim=1),
    )


if __name__ == "__main__":
    main(__file__, make_net, HPARAMS)
