"""Step 5: dropout and augmentation.

Target: a more robust network from Dropout after every BatchNorm and random rotations of the
training images, and (issue #3) weight decay.
Changed from the reference (issue #3): weight decay 5e-4 (the reference had none); Dropout 0.01 and
the +-6 degree rotation are the reference's. The schedule is step 4's.
Why: on a tuning seed (11), step 5 with a two-phase one-cycle schedule (see step 4) ended at
99.45% without weight decay and at 99.54% with it. Every convolution here is followed by ReLU and
BatchNorm, so its output ignores the scale of its weights: weight decay keeps the weights small,
and so the effective step size up, until the schedule anneals it.
Result (ours, CPU, seeds 1 to 4: `python step5.py --seed 2 --out runs/step5-seed2.json` and
`python step5.py --seeds 1 3 4 --out runs/step5-seeds134.json`): 9,142 parameters; final test
99.43%, 99.53%, 99.47%, 99.39% (mean 99.455%, std 0.060); best 99.50%, 99.55%, 99.50%, 99.47%;
first at or above 99.4% at epoch 8 or 9; best train 99.41-99.45%; 45 s an epoch (median). The
reference (one run): best test 99.46% at epoch 10, final 99.43%, best train 99.11%.
Analysis: train accuracy is back below test, and every seed holds 99.39-99.55% from epoch 9 on;
but seed 4's last epoch, at 99.39%, misses issue #3's 99.40% for every one of the last three
epochs by one test image.
"""
import torch.nn as nn

from common import main

HPARAMS = dict(
    epochs=15,
    batch_size=128,
    lr=0.1,  # the peak of the cycle
    momentum=0.9,
    weight_decay=5e-4,
    lr_schedule=dict(name="OneCycleLR", three_phase=True, cycle_momentum=False),  # stepped every batch
    rotation=6,  # degrees, training only
    translate=1,  # pixels, training only
)
DROPOUT = 0.01


def make_net():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.BatchNorm2d(8), nn.Dropout(DROPOUT),
        nn.Conv2d(8, 8, 3), nn.ReLU(), nn.BatchNorm2d(8), nn.Dropout(DROPOUT),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.BatchNorm2d(16), nn.Dropout(DROPOUT),
        nn.Conv2d(16, 16, 3), nn.ReLU(), nn.BatchNorm2d(16), nn.Dropout(DROPOUT),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3), nn.ReLU(), nn.BatchNorm2d(16), nn.Dropout(DROPOUT),
        nn.Conv2d(16, 16, 3), nn.ReLU(), nn.BatchNorm2d(16), nn.Dropout(DROPOUT),
        nn.Conv2d(16, 10, 1), nn.ReLU(), nn.BatchNorm2d(10), nn.Dropout(DROPOUT),
        nn.AvgPool2d(6),  # global average pooling over the 6x6 map
        nn.Flatten(),
        nn.LogSoftmax(dim=1),
    )


if __name__ == "__main__":
    main(__file__, make_net, HPARAMS)
