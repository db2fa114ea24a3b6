"""Step 5: dropout and augmentation.

Target: a more robust network from Dropout after every BatchNorm and random rotations of the
training images, and (issue #3) random one-pixel shifts and weight decay.
Changed from the reference (issue #3): each training image is also shifted by up to 1 pixel along
each axis (the reference only rotated it), and weight decay is 5e-4 (the reference had none).
Dropout 0.01 and the +-6 degree rotation are the reference's; the schedule is step 4's.
Why, weight decay: on a tuning seed (11, CPU, two-phase one-cycle) the final read 99.45% without it
and 99.54% with it. Every convolution is followed by ReLU and BatchNorm, so its output ignores the
scale of its weights: weight decay keeps the weights small, and so the effective step size up,
until the schedule anneals it.
Why, the shift: without it (commit 8db1241) seed 4 ended at 99.39% on the CPU. On an H200 GPU, over
seeds 1 to 15 (one 15-epoch run per seed), the final read 99.465% +- 0.049 without the shift, 2 of
15 seeds dropping below 99.40% in one of the last three epochs; with a 1-pixel shift 99.515% +-
0.043, none below; with 2 pixels 99.484%. Instead of the shift, a peak lr of 0.2, batches of 64 or
weight decay 1e-3 gave 99.48%, 99.49% and 99.47%, with 2 of 14, 1 of 15 and 3 of 14 seeds below.
Result (ours, CPU, `python step5.py --seeds 1 2 3 4`): 9,142 parameters; test accuracy at epochs
13/14/15: seed 1 99.41/99.44/99.42, seed 2 99.47/99.46/99.44, seed 3 99.54/99.53/99.56, seed 4
99.43/99.40/99.41; final mean 99.457% (std 0.069, min 99.41%); best mean 99.485% (min 99.43%);
first at or above 99.4% at epoch 8 or 9; best train 99.23-99.25%; 46 s an epoch (median).
Seeds 5 to 8, not used in choosing (CPU, `python step5.py --seeds 5 6 7 8`): final 99.48%, 99.49%,
99.48%, 99.44%, every one at or above 99.40% on each of the last three epochs.
On the H200 (`--device cuda`), seeds 1 to 55: final mean 99.495% (std 0.046, min 99.40%); 53 of 55
seeds at or above 99.40% on each of the last three epochs (seed 19 read 99.35% at epoch 13, seed
52 99.38% at epoch 14). The reference's recipe, re-run here (seed 1, CPU, runs/ref-recipe-step5.*):
99.34/99.40/99.42 at epochs 13/14/15, first at or above 99.4% at epoch 12.
Analysis: every counted seed meets issue #3's bar, on the CPU with little to spare (seed 4 reads
99.40% at epoch 14; the CPU mean is 0.0075 above 99.45%). Over every seed tried (8 on the CPU, 55 on
the GPU) the final epoch read at least 99.40%, but on the GPU 2 of 55 seeds dipped just below it
one or two epochs earlier.
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
