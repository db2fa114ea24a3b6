"""What the step-7 candidates share: step 6's recipe and the layers they are built of.

Every candidate's convolutions are bias-free with a BatchNorm right after (its shift does what a
bias would: a bias there is spent for nothing), then a ReLU; the head is a global average pool
and a 1x1 convolution to the 10 class scores (with its bias, no ReLU after it).
"""
import torch.nn as nn

import step6

LEAN = dict(step6.HPARAMS)  # step 6's recipe: step 5's without Dropout2d, weight decay 1e-4


def conv(c_in, c_out, kernel=3, padding=0, groups=1):
    """A convolution, its BatchNorm and a ReLU."""
    return [nn.Conv2d(c_in, c_out, kernel, padding=padding, groups=groups, bias=False),
            nn.BatchNorm2d(c_out), nn.ReLU()]


def separable(c_in, c_out, padding=0):
    """A 3x3 convolution per channel (depthwise), then a 1x1 across channels; one BatchNorm."""
    return [nn.Conv2d(c_in, c_in, 3, padding=padding, groups=c_in, bias=False),
            *conv(c_in, c_out, 1)]


def factorised(c_in, c_out):
    """A 3x1 then a 1x3 convolution in place of a 3x3 (6 weights a channel pair, not 9)."""
    return [*conv(c_in, c_out, (3, 1)), *conv(c_out, c_out, (1, 3))]


class Twice(nn.Module):
    """One convolution applied `times` times, each time with a BatchNorm and ReLU of its own."""

    def __init__(self, channels, times):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, bias=False)
        self.norms = nn.ModuleList(nn.BatchNorm2d(channels) for _ in range(times))

    def forward(self, x):
        for norm in self.norms:
            x = norm(self.conv(x)).relu()
        return x


def head(channels):
    """Global average pooling, then a 1x1 convolution to the 10 class scores."""
    return [nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, 10, 1), nn.Flatten(),
            nn.LogSoftmax(dim=1)]
