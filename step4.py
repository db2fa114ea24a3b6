"""Step 4: a learning-rate schedule.

Target: steadier, higher test accuracy late in training from a learning-rate schedule.
Changed from the reference (issue #3): its StepLR(step_size=5, gamma=0.15) from lr 0.01 with
batches of 64 becomes a three-phase one-cycle schedule with batches of 128: from 0.004 up to a peak
of 0.1 over the first 30% of the batches, back to 0.004 over the next 30%, then down to almost zero
(epochs 10 to 15 all run at 0.004 or less). Momentum stays 0.9.
Why, measured with step 5 on the CPU: the reference's own re-runs of its step-5 recipe ended below
99.4% (99.28% and 99.34%, seeds 1 and 2, says its page). A two-phase one-cycle to 0.1 (cosine down
to the last batch) ended high, 99.47% and 99.52% on seeds 1 and 2, but its 13th epoch, still at lr
0.019, dipped to 99.34% on seed 2. With the third phase seed 2 read 99.49%, 99.52% and 99.53% on
epochs 13 to 15. Batches of 128 halve the optimizer steps and make an epoch faster on a CPU.
Result (ours, `python step4.py`: seed 1, CPU): 9,142 parameters; best test 99.45% (epoch 12),
final 99.40%, first at or above 99.4% at epoch 7, and at or above it from epoch 9 on; best train
99.69%; 29 s an epoch (median). The reference (StepLR, batch 64): best test 99.45%, best train 99.41%.
Analysis: the target is met, and the annealed tail holds the test accuracy within 99.40-99.45%
over the last seven epochs; but train accuracy (99.69%) is now well above test: it overfits.
"""
import torch.nn as nn

from common import main

HPARAMS = dict(
    epochs=15,
    batch_size=128,
    lr=0.1,  # the peak of the cycle
    momentum=0.9,
    weight_decay=0,
    lr_schedule=dict(name="OneCycleLR", three_phase=True, cycle_momentum=False),  # stepped every batch
    rotation=0,  # degrees, training only
    translate=0,  # pixels, training only
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
