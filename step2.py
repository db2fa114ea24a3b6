"""Step 2: fewer parameters (1x1 convolution and global average pooling), smaller batches.

Target: get under 10,000 parameters with fewer kernels, a 1x1 convolution before GAP, and
batches of 64.
Result (ours, `python step2.py`: seed 1, CPU): 8,962 parameters; best test 88.96% (epoch 15),
final 88.96%, 99.4% not reached; best train 89.14%; 24 s an epoch (median). The reference: best
test 98.94%, best train 98.92%.
Analysis: light enough, but on our seed it never learns the digit 8. The ReLU after the last (1x1)
convolution clamps each class's map before GAP; class 8's map went almost dead (at most 2.9 on the
test set, against 100 to 280 for the other classes), so 8 is never predicted (0 of 974) and
accuracy stalls near 89%. The layers are kept as the reference had them; step 3's BatchNorm is what
gets this network training reliably.
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
    translate=0,  # pixels, training only
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
