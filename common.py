"""The engine shared by step1.py ... step5.py: MNIST on the device, train and evaluate, the runner.

A step file defines its network (`make_net(hp)`) and hyperparameters (`HPARAMS`) and calls
`main(__file__, make_net, HPARAMS)`. Read top-down, this file follows a run: the learner, what the
network gets wrong, the figures over seeds, the files a run writes, the flags, and `main`.
"""
import argparse
import fcntl
import json
import math
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.datasets.mnist import read_image_file, read_label_file

import pictures
from mnist_files import DataError, prepare_mnist, raw_folder

TARGET_ACCURACY = 99.4  # percent, on the 10,000 test images
MAX_PARAMETERS = 10_000  # strictly fewer
MAX_EPOCHS = 15
LAST_EPOCHS = 3  # a seed "holds" the target when each of its last three epochs is at or above it
TRAIN_SIZE = 60_000
TEST_BATCH_SIZE = 1000
DRY_RUN_BATCHES = 3
MAX_SEED = 2**64 - 1  # torch.manual_seed takes 0 ... 2**64 - 1


# ==============================================================================================
# The learner: MNIST as tensors, augmentation, model summary, train, evaluate, one seed's run.
def load_mnist(data_dir, device, log=print):
    """The whole of MNIST on the device: {"train": (images, labels), "test": (...), "mean", "std",
    "stats"}, images in [0, 1] as N x 1 x 28 x 28; and the source the files came from."""
    source, raw = prepare_mnist(data_dir, log), raw_folder(data_dir)
    data = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_image_file(os.path.join(raw, f"{prefix}-images-idx3-ubyte"))
        labels = read_label_file(os.path.join(raw, f"{prefix}-labels-idx1-ubyte"))
        data[split] = (images.unsqueeze(1).to(device).float() / 255, labels.to(device))
    pixels = data["train"][0].double()
    stats = {"shape": [len(pixels), 28, 28],
             **{key: getattr(pixels, key)().item() for key in ("min", "max", "mean", "std")}}
    data.update(mean=stats["mean"], std=stats["std"], stats=stats)
    log(f"data: MNIST from {source}: {len(data['train'][1]):,} train, "
        f"{len(data['test'][1]):,} test images")
    log(f"data: train pixels: shape {tuple(stats['shape'])}, min {stats['min']:.4f}, "
        f"max {stats['max']:.4f}, mean {stats['mean']:.4f}, std {stats['std']:.4f}, "
        f"var {stats['std'] ** 2:.4f}")
    return data, source


def augment(images, max_degrees, max_shift, generator):
    """Rotate each image about its centre by its own angle in [-max_degrees, +max_degrees], then
    shift it by its own offset in [-max_shift, +max_shift] pixels per axis (uniform draws): one
    affine grid for the batch, nearest pixel, black fill, as torchvision's RandomAffine does."""
    n, size, device = len(images), images.shape[-1], images.device
    angle = (torch.rand(n, generator=generator, device=device) * 2 - 1) * math.radians(max_degrees)
    cos, sin = angle.cos(), angle.sin()
    shift = torch.zeros(2, n, device=device)
    if max_shift:  # drawn only when asked for, so rotation-only runs keep their random stream
        shift = torch.rand(2, n, generator=generator, device=device) * 2 - 1
        shift = shift * (2 * max_shift / size)  # in grid units: the image spans [-1, 1]
    theta = torch.stack([torch.stack([cos, -sin, shift[0]], 1),
                         torch.stack([sin, cos, shift[1]], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def summarize(model, device):
    """One row per layer: output shape, parameters, receptive field; and the parameter total."""
    rows, rf, jump = [], 1, 1

    def record(module, inputs, output):
        nonlocal rf, jump
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            # each may be an int or a (height, width) pair; these networks are square throughout
            k, s, d = (v if isinstance(v, int) else v[0] for v in
                       (getattr(module, a, 1) for a in ("kernel_size", "stride", "dilation")))
            rf += (k - 1) * d * jump
            jump *= s
        rows.append((type(module).__name__, list(output.shape[1:]),
                     sum(p.numel() for p in module.parameters()), rf))

    hooks = [m.register_forward_hook(record) for m in model.modules() if not list(m.children())]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 1, 28, 28, device=device))
    for h in hooks:
        h.remove()
    return rows, sum(p.numel() for p in model.parameters())


def train(model, data, optimizer, scheduler, *, hp, generator, max_batches=None):
    """One epoch over a fresh permutation; mean loss and accuracy (%) on the augmented batches."""
    model.train()
    images, labels = data["train"]
    order = torch.randperm(len(labels), generator=generator, device=labels.device)
    batches = order.split(hp["batch_size"])[:max_batches]
    loss_sum = torch.zeros((), device=labels.device)
    correct = torch.zeros((), dtype=torch.long, device=labels.device)
    for index in batches:
        x, y = images[index], labels[index]
        if hp["rotation"] or hp["translate"]:
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
    seen = sum(len(index) for index in batches)
    return loss_sum.item() / seen, 100.0 * correct.item() / seen


@torch.no_grad()
def evaluate(model, data, max_batches=None):
    """Mean loss, accuracy (%) and the predicted digits on the test set, unaugmented."""
    model.eval()
    images, labels = data["test"]
    loss_sum, correct, predicted = 0.0, 0, []
    batches = torch.arange(len(labels), device=labels.device).split(TEST_BATCH_SIZE)[:max_batches]
    for index in batches:
        output = model((images[index] - data["mean"]) / data["std"])
        loss_sum += F.nll_loss(output, labels[index], reduction="sum").item()
        predicted.append(output.argmax(1))
        correct += (predicted[-1] == labels[index]).sum().item()
    seen = sum(len(index) for index in batches)
    return loss_sum / seen, 100.0 * correct / seen, torch.cat(predicted)


def make_scheduler(optimizer, hp, steps_per_epoch):
    """OneCycleLR peaking at the step's lr, or StepLR; stepped every batch; None: a constant lr."""
    if hp.get("step_lr"):  # its step size in epochs, counted in batches
        return torch.optim.lr_scheduler.StepLR(
            optimizer, hp["step_lr"]["step_size"] * steps_per_epoch, hp["step_lr"]["gamma"])
    if not hp["one_cycle"]:
        return None
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=hp["lr"], epochs=hp["epochs"],
                                               steps_per_epoch=steps_per_epoch, **hp["one_cycle"])


def train_seed(seed, make_net, hp, data, device, max_batches=None):
    """Train one network from seed; yields (record, model) after every epoch, the record growing."""
    torch.manual_seed(seed)
    generator = torch.Generator(device=device).manual_seed(seed)
    model = make_net(hp).to(device)
    if hp.get("optimizer") == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=hp["lr"],
                                     weight_decay=hp["weight_decay"])
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=hp["lr"], momentum=hp["momentum"],
                                    weight_decay=hp["weight_decay"])
    batches = min(math.ceil(len(data["train"][1]) / hp["batch_size"]), max_batches or math.inf)
    scheduler = make_scheduler(optimizer, hp, batches)
    record, start = {"seed": seed, "epochs": []}, time.time()
    for epoch in range(1, hp["epochs"] + 1):
        t0, lr = time.time(), optimizer.param_groups[0]["lr"]
        train_loss, train_acc = train(model, data, optimizer, scheduler, hp=hp,
                                      generator=generator, max_batches=max_batches)
        test_loss, test_acc, _ = evaluate(model, data, max_batches)
        record["epochs"].append({"epoch": epoch, "lr": lr, "train_loss": train_loss,
                                 "train_acc": train_acc, "test_loss": test_loss,
                                 "test_acc": test_acc, "seconds": round(time.time() - t0, 2)})
        record.update(outcome(record["epochs"]), seconds=round(time.time() - start, 2))
        yield record, model


# ==============================================================================================
# What the network gets wrong: accuracy per digit, the confusion matrix, the digits it missed.
def report_errors(model, data, max_batches, whose, picture):
    """What `whose` gets wrong on the test set, printed and drawn into `picture`; the report kept
    in the results file."""
    _, accuracy, predicted = evaluate(model, data, max_batches)
    images, labels = (t[:len(predicted)] for t in data["test"])
    confusion = torch.bincount(labels * 10 + predicted, minlength=100).view(10, 10).cpu()
    per_digit = 100.0 * confusion.diag() / confusion.sum(1).clamp(min=1)
    missed = (predicted != labels).nonzero().flatten()
    report = {"test_images": len(labels), "test_acc": accuracy, "mistakes": len(missed),
              "per_digit_acc": [round(v, 2) for v in per_digit.tolist()],
              "confusion": confusion.tolist()}
    write_text(picture, pictures.mistakes_svg(whose, images[missed].cpu(), labels[missed].tolist(),
                                              predicted[missed].tolist()))
    print(f"what {whose} gets wrong: {report['mistakes']} of {report['test_images']:,} test "
          f"images ({report['test_acc']:.2f}% right)")
    print("digit        " + "".join(f"{d:>6}" for d in range(10)))
    print("right (%)    " + "".join(f"{v:>6.1f}" for v in report["per_digit_acc"]))
    print("confusion matrix, a row per true digit, a column per prediction:")
    for digit, row in enumerate(report["confusion"]):
        print(f"  {digit}          " + "".join(f"{v:>6}" for v in row))
    print(f"mistakes: {picture}")
    return report


# ==============================================================================================
# The figures: a seed's outcome, the budget's verdict, and a step's figures over its seeds (the
# run's summary, and a row of compare.py's table).
def outcome(epochs):
    """Best test accuracy and its epoch, final accuracy, first epoch at or above the target."""
    best = max(epochs, key=lambda e: e["test_acc"])
    first = next((e["epoch"] for e in epochs if e["test_acc"] >= TARGET_ACCURACY), None)
    return {"best_test_acc": best["test_acc"], "best_epoch": best["epoch"],
            "final_test_acc": epochs[-1]["test_acc"], "first_epoch_at_target": first,
            "best_train_acc": max(e["train_acc"] for e in epochs)}


def verdict(parameters, record, epochs):
    """Plain words against the budget: < 10,000 parameters and 99.4% within 15 epochs; a run given
    fewer epochs says only what it reached in them."""
    if epochs < MAX_EPOCHS:
        first = record["first_epoch_at_target"]
        reached = f"reached {TARGET_ACCURACY}% at epoch {first}" if first else (
            f"{TARGET_ACCURACY}% not reached")
        return (f"{reached} in {epochs} epoch{'s' * (epochs > 1)} (no verdict: the budget is "
                f"judged on {MAX_EPOCHS})")
    reasons = []
    if parameters >= MAX_PARAMETERS:
        reasons.append(f"{parameters:,} parameters is not under {MAX_PARAMETERS:,}")
    if not record["first_epoch_at_target"] or record["first_epoch_at_target"] > MAX_EPOCHS:
        reasons.append(f"{TARGET_ACCURACY}% not reached within {MAX_EPOCHS} epochs")
    return "misses the budget: " + "; ".join(reasons) if reasons else "meets the budget"


def spread(values):
    return {"mean": statistics.fmean(values), "min": min(values), "max": max(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def figures_over_seeds(runs):
    """Final and best test accuracy over the seeds; how many seeds reached the target in some
    epoch and held it in each of the last three (and where the others dipped); s/epoch, median."""
    below = {r["seed"]: {e["epoch"]: e["test_acc"] for e in r["epochs"][-LAST_EPOCHS:]
                         if e["test_acc"] < TARGET_ACCURACY} for r in runs}
    return {"seeds": [r["seed"] for r in runs],
            "final_test_acc": spread([r["epochs"][-1]["test_acc"] for r in runs]),
            "best_test_acc": spread([max(e["test_acc"] for e in r["epochs"]) for r in runs]),
            "seeds_reaching_target": sum(any(e["test_acc"] >= TARGET_ACCURACY for e in r["epochs"])
                                         for r in runs),
            "seeds_holding_target_last_epochs": sum(not dips for dips in below.values()),
            "seeds_below_target_last_epochs": {str(s): d for s, d in below.items() if d},
            "seconds_per_epoch": statistics.median(e["seconds"] for r in runs for e in r["epochs"])}


def compact(seeds):
    """[1, 2, 3, 5] -> '1-3 5': seeds as the flags take them."""
    runs = []
    for seed in seeds:
        if runs and seed == runs[-1][-1] + 1:
            runs[-1].append(seed)
        else:
            runs.append([seed])
    return " ".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else " ".join(map(str, r)) for r in runs)


def print_epoch(e, epochs):
    print(f"epoch {e['epoch']:>2}/{epochs}  lr {e['lr']:.6f}  train loss {e['train_loss']:.4f} "
          f"acc {e['train_acc']:6.2f}%  test loss {e['test_loss']:.4f} acc {e['test_acc']:6.2f}%  "
          f"{e['seconds']:5.1f}s", flush=True)


def print_seed(r):
    first = f"epoch {r['first_epoch_at_target']}" if r["first_epoch_at_target"] else "not reached"
    last = " ".join(f"{e['test_acc']:.2f}" for e in r["epochs"][-LAST_EPOCHS:])
    print(f"seed {r['seed']}: final {r['final_test_acc']:.2f}%  best {r['best_test_acc']:.2f}% "
          f"(epoch {r['best_epoch']})  first >= {TARGET_ACCURACY}%: {first}  last epochs: {last}  "
          f"{r['seconds']:.0f}s" + (f"  {r['verdict']}" if "verdict" in r else ""), flush=True)


def print_figures(f):
    n, below = len(f["seeds"]), f["seeds_below_target_last_epochs"]
    print(f"over {n} seeds ({compact(f['seeds'])}):")
    for key in ("final_test_acc", "best_test_acc"):
        s = f[key]
        print(f"  {key.split('_')[0]:<5} test acc: mean {s['mean']:.3f}% ± {s['std']:.3f}, "
              f"min {s['min']:.2f}%, max {s['max']:.2f}%")
    print(f"  reached {TARGET_ACCURACY}% in some epoch: {f['seeds_reaching_target']}/{n} seeds")
    dips = "".join(f"; seed {seed} below at "
                   + ", ".join(f"epoch {e} ({v:.2f}%)" for e, v in d.items())
                   for seed, d in below.items())
    print(f"  at or above {TARGET_ACCURACY}% on each of the last {LAST_EPOCHS} epochs: "
          f"{f['seeds_holding_target_last_epochs']}/{n} seeds{dips}")


# ==============================================================================================
# Files a run writes, each replaced atomically; an earlier run's files are kept, never replaced.
def replace_atomically(path, write, mode="w"):
    """Write to a temporary file in the same folder, then rename: readers never see half a file.
    The file gets the mode the user's umask gives a new file (644 under umask 022)."""
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".tmp-{os.getpid()}-{name}")
    try:
        with open(tmp, mode, encoding=None if "b" in mode else "utf-8") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text(path, text):
    replace_atomically(path, lambda f: f.write(text))


def save_weights(path, step, model, hp, record, data):
    """The weights with what they came from: step, hyperparameters, seed, epoch, test accuracy."""
    checkpoint = {"step": step, "model": model.state_dict(), "hyperparameters": hp,
                  "seed": record["seed"], "epoch": len(record["epochs"]), "mean": data["mean"],
                  "test_acc": record["epochs"][-1]["test_acc"], "std": data["std"]}
    replace_atomically(path, lambda f: torch.save(checkpoint, f), mode="wb")


def save_samples(step, data, hp, path):
    """The first 64 training images as the network sees them (augmented, if the step augments),
    each with its label, and a title that says so."""
    images, labels = (t[:64] for t in data["train"])
    how = "as they are"
    if hp["rotation"] or hp["translate"]:
        images = augment(images, hp["rotation"], hp["translate"],
                         torch.Generator(device=images.device).manual_seed(0))
        how = f"rotated ±{hp['rotation']:g}°, shifted ±{hp['translate']:g} px"
    write_text(path, pictures.digits_svg(f"{step}'s first 64 training images: {how}",
                                         images.cpu(), [str(v) for v in labels.tolist()], 8))


def read_results(path):
    """A results file as a dict, or None if the file is something else."""
    try:
        with open(path) as f:
            results = json.load(f)
        return results if isinstance(results, dict) and {"step", "runs"} <= set(results) else None
    except (OSError, ValueError):
        return None


def lock(path):
    """Hold path's lock, the file .<name>.lock beside it, until release(): (lock path, its file
    descriptor), or None while another live process holds it. The kernel lets go of a lock when
    its process dies, so a killed run blocks nothing."""
    folder, name = os.path.split(os.path.abspath(path))
    lock_path = os.path.join(folder, f".{name}.lock")
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:  # the file we locked may be one its last holder removed as we opened it
            if os.path.samestat(os.fstat(fd), os.stat(lock_path)):
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, f"process {os.getpid()} ({' '.join(sys.argv) or 'python'})".encode())
    return lock_path, fd


def release(held):
    if held:
        os.unlink(held[0])
        os.close(held[1])


def holder(path):
    """Who holds path's lock, in words."""
    folder, name = os.path.split(os.path.abspath(path))
    try:
        with open(os.path.join(folder, f".{name}.lock")) as f:
            return f.read().strip() or "another process"
    except OSError:
        return "another process"


RUN_FILES = (".json", "-curves.svg", "-mistakes.svg", "-samples.svg")


def claim_results_file(out, seeds, replaceable=lambda earlier: False):
    """The results file a run writes, locked for as long as it runs: out itself if no file of
    that name is there (or what is there is replaceable), else the first free <stem>.N.json, so
    that no run writes over or moves another's files. ValueError if a live run holds out, or out
    is a file but not a run's."""
    stem = os.path.splitext(out)[0]
    for n in range(10**6):
        path = out if n == 0 else f"{stem}.{n}.json"
        held = lock(path)
        if held is None and n == 0:
            raise ValueError(f"{out} is being written by {holder(out)}; wait for it to end or "
                             f"give another --out")
        if held is None:
            continue
        earlier = read_results(path)
        if n == 0 and os.path.exists(path) and earlier is None:
            release(held)
            raise ValueError(f"{out} exists and is not a results file"
                             + " but a folder" * os.path.isdir(out))
        base = os.path.splitext(path)[0]
        files = [base + suffix for suffix in RUN_FILES] + [f"{base}-seed{s}.pt" for s in seeds]
        if not any(map(os.path.exists, files)) or (earlier and replaceable(earlier)):
            return path, held
        release(held)


# ==============================================================================================
# Flags, and what a results file records of the machine and the code.
class ArgumentParser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2 (argparse's code), no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


# What a hyperparameter's flag takes; any other scalar hyperparameter (weight decay, rotation,
# translate) takes a number >= 0, where 0 turns it off.
HPARAM_RULES = {
    "epochs": (int, lambda v: v >= 1, "at least 1"),
    "batch_size": (int, lambda v: 1 <= v <= TRAIN_SIZE, f"from 1 to {TRAIN_SIZE:,}"),
    "lr": (float, lambda v: v > 0, "above 0"),
    "momentum": (float, lambda v: 0 <= v < 1, "at least 0 and below 1"),
    "dropout": (float, lambda v: 0 <= v < 1, "at least 0 and below 1"),
}
OTHER_HPARAM_RULE = (float, lambda v: v >= 0, "at least 0")
HPARAM_UNITS = {"rotation": "degrees", "translate": "pixels"}


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
    """auto: the accelerator torch finds (CUDA, MPS, ...), else the CPU; or a device here."""
    here = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else None
    if name == "auto":
        return here or torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r} (use auto, cpu, cuda, cuda:N or mps)")
    if device.type != "cpu" and (here is None or here.type != device.type
                                 or (device.index or 0) >= torch.accelerator.device_count()):
        raise ValueError(f"device {name!r} is not available here")
    return device


def parse_args(step, hparams, argv):
    """The flags, the hyperparameters they give and those they override; args.out is the results
    file the run claimed (its lock in args.lock; for --eval, the evaluation's own file)."""
    parser = ArgumentParser(prog=f"{step}.py", description=f"Train MNIST {step}.")
    flags = {key: "--" + key.replace("_", "-") for key, default in hparams.items()
             if isinstance(default, (int, float)) and not isinstance(default, bool)}
    for key, flag in flags.items():  # every scalar hyperparameter is a flag
        kind, _, wanted = HPARAM_RULES.get(key, OTHER_HPARAM_RULE)
        unit = f" in {HPARAM_UNITS[key]}" if key in HPARAM_UNITS else ""
        parser.add_argument(flag, type=kind, default=hparams[key], metavar=kind.__name__.upper(),
                            help=f"{key.replace('_', ' ')}{unit}, {wanted} (default: "
                                 f"{hparams[key]})")
    parser.add_argument("--seed", "--seeds", dest="seeds", type=seed_range, nargs="+",
                        default=[[1]], metavar="S", help="seeds and ranges: 1 2 5-8 (default: 1)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--data-dir", default="data", metavar="DIR",
                        help="where MNIST lives (default: data)")
    parser.add_argument("--out", metavar="FILE", help=f"results file (default: runs/{step}.json, "
                        "or runs/<step>-<overrides>.json; taken: the first free <stem>.N.json)")
    parser.add_argument("--save-model", action="store_true", help="also save the weights")
    parser.add_argument("--dry-run", action="store_true", help="a few batches: check the plumbing")
    parser.add_argument("--eval", metavar="WEIGHTS", help="evaluate saved weights; train nothing; "
                        "written to <out stem>-eval.json and -eval-mistakes.svg")
    args = parser.parse_args(argv)
    hp = {key: getattr(args, key, value) for key, value in hparams.items()}
    for key, flag in flags.items():
        _, ok, wanted = HPARAM_RULES.get(key, OTHER_HPARAM_RULE)
        if not (math.isfinite(hp[key]) and ok(hp[key])):
            parser.error(f"argument {flag}: must be {wanted}, got {hp[key]}")
    args.seeds = [seed for seeds in args.seeds for seed in seeds]
    if len(set(args.seeds)) != len(args.seeds):
        parser.error("argument --seed: each seed once")
    try:
        args.device = pick_device(args.device)
    except ValueError as e:
        parser.error(f"argument --device: {e}")
    overrides = {k: v for k, v in hp.items() if v != hparams[k]}
    # a variant's file says what it varied, so that it never displaces the step's own run
    args.out = args.out or os.path.join("runs", step + "".join(
        f"-{k.replace('_', '-')}{v:g}" for k, v in overrides.items()) + "-dry-run" * args.dry_run
        + ".json")
    parent = os.path.dirname(args.out)
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if parent and not os.path.isdir(parent):
        parser.error(f"argument --out: {parent} is a file, not a folder")
    if args.eval:
        args.out = os.path.splitext(args.out)[0] + "-eval.json"
    args.asked = args.out
    try:  # claim the file now, not after an hour of training
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        # a dry run replaces an earlier dry run, never a real run
        args.out, args.lock = claim_results_file(
            args.out, [] if args.eval else args.seeds,
            lambda earlier: args.dry_run and not args.eval and earlier.get("dry_run"))
    except ValueError as e:
        parser.error(f"argument --out: {e}")
    except OSError as e:
        parser.error(f"argument --out: cannot write to {os.path.dirname(args.out) or '.'}: "
                     f"{e.strerror}")
    return args, hp, overrides


def machine(device):
    """The GPU's name, or the CPU's model and cores (/proc/cpuinfo) with the instruction set
    torch's kernels use and the threads they run on."""
    if device.type == "cuda":
        return {"device_name": torch.cuda.get_device_name(device)}
    try:  # model names can be as vague as "AMD EPYC": the family and model tell them apart
        with open("/proc/cpuinfo") as f:
            info = dict(map(str.strip, line.split(":", 1)) for line in f if ":" in line)
        model = f"{info['model name']} (family {info['cpu family']}, model {info['model']})"
    except (OSError, KeyError):
        model = platform.processor() or platform.machine()
    return {"device_name": f"{model}, {os.cpu_count()} cores",
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cpu_threads": torch.get_num_threads()}


def code_version():
    """The project's git commit, "-dirty" if its tree had changes; None unless the project is the
    top of its own git checkout (a copy inside another repository records nothing)."""
    here = os.path.dirname(os.path.abspath(__file__))
    commands = ("rev-parse --show-toplevel", "rev-parse -q --verify HEAD",  # nothing if no commit
                "status --porcelain -uno")
    try:
        top, commit, dirty = [subprocess.run(["git", "-C", here, *c.split()], capture_output=True,
                                             text=True).stdout.strip() for c in commands]
    except OSError:  # no git
        return None
    if not (top and commit) or os.path.realpath(top) != os.path.realpath(here):
        return None
    return commit + ("-dirty" if dirty else "")


# ==============================================================================================
# The runner.
def fail(step, message, code=2):
    print(f"{step}.py: error: {message}", file=sys.stderr)
    sys.exit(code)


def load_weights(path, step, model, device):
    """The checkpoint --save-model wrote at path, loaded into model; anything else is a
    ValueError that says, in our words, what the file is not."""
    if not os.path.isfile(path):
        raise ValueError("a folder, not a file" if os.path.isdir(path) else "no such file")
    try:
        with warnings.catch_warnings():  # torch's warnings and advice are not for this user
            warnings.simplefilter("ignore")
            checkpoint = torch.load(path, map_location=device, weights_only=True)
    except Exception:
        raise ValueError("not a PyTorch weights file")
    if not (isinstance(checkpoint, dict) and isinstance(checkpoint.get("model"), dict)):
        raise ValueError("a PyTorch file, but not weights saved by --save-model")
    if checkpoint.get("step", step) != step:
        raise ValueError(f"{checkpoint['step']}'s weights, not {step}'s")
    try:
        model.load_state_dict(checkpoint["model"])
    except RuntimeError:
        raise ValueError(f"weights of another network than {step}'s (other layers or shapes)")
    return checkpoint


def main(step_file, make_net, hparams, argv=None):
    """Parse the flags; train each seed (or evaluate saved weights); print what the network gets
    wrong and the figures over seeds; save the results file and the pictures. Ctrl-C or `kill`
    at any moment: exit 130, one line, and a results file that says what finished."""
    argv = sys.argv[1:] if argv is None else list(argv)
    step = os.path.splitext(os.path.basename(step_file))[0]
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill` stops a run as Ctrl-C
    args, hp, overrides = parse_args(step, hparams, argv)
    if args.out != args.asked:
        print(f"{args.asked} holds an earlier run, kept as it is; this one writes {args.out}")
    device, stem = args.device, os.path.splitext(args.out)[0]
    results, finished, written = {"runs": []}, [], []

    def save(runs, **fields):
        results.update(fields, runs=runs, seeds_finished=[r["seed"] for r in finished])
        replace_atomically(args.out, lambda f: json.dump(results, f, indent=2))
        write_text(stem + "-curves.svg", pictures.curves_svg(title, runs, hp["epochs"]))

    try:
        if device.type == "cuda":  # same seed, same device, same numbers
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        max_batches = DRY_RUN_BATCHES if args.dry_run else None
        model = make_net(hp).to(device)
        if args.eval:
            try:
                checkpoint = load_weights(args.eval, step, model, device)
            except ValueError as e:
                fail(step, f"argument --eval: {args.eval}: {e}")
            whose = f"{args.eval} (seed {checkpoint.get('seed')}, epoch {checkpoint.get('epoch')})"
        try:
            data, source = load_mnist(args.data_dir, device)
        except DataError as e:
            fail(step, e, code=1)
        rows, parameters = summarize(model, device)
        print(f"{'layer':<16}{'output shape':>16}{'params':>10}{'RF':>6}")
        for i, (name, shape, params, rf) in enumerate(rows, 1):
            print(f"{i:>2} {name:<13}{str(shape):>16}{params:>10,}{rf:>6}")
        print(f"total parameters: {parameters:,}")
        about = {"device": str(device), **machine(device), "torch": torch.__version__,
                 "code": code_version()}
        if args.eval:  # a file of its own: never another run's or an earlier evaluation's
            written.append(stem + "-mistakes.svg")
            report = report_errors(model, data, max_batches, whose, written[-1])
            evaluation = {"step": step, "eval": args.eval, "runs": [], **about, "errors": report,
                          **{k: checkpoint.get(k) for k in ("seed", "epoch", "test_acc")}}
            replace_atomically(args.out, lambda f: json.dump(evaluation, f, indent=2))
            print(f"evaluation: {args.out}")
            return report

        print(f"{step}: {', '.join(f'{k}={v}' for k, v in hp.items())}; seeds "
              f"{compact(args.seeds)}; device {device}"
              + (f"; overrides {overrides}" if overrides else "") + "; DRY RUN" * args.dry_run)
        written.append(stem + "-samples.svg")
        save_samples(step, data, hp, written[-1])
        results.update({
            "step": step, "status": "running", "command": " ".join([f"{step}.py"] + argv),
            "hyperparameters": hp, "overrides": overrides, "dry_run": args.dry_run,
            "seeds": args.seeds, "parameters": parameters,
            "layers": [str(m) for m in model.modules() if not list(m.children())],
            "summary_rows": [dict(zip(("layer", "output_shape", "params", "receptive_field"), r))
                             for r in rows],
            **about, "data": {"source": source, **data["stats"]},
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        title = (f"{step}: seed{'s' * (len(args.seeds) > 1)} {compact(args.seeds)}, {device} "
                 f"({results['device_name']})" + (", dry run" if args.dry_run else ""))
        for seed in args.seeds:
            if len(args.seeds) > 1:
                print(f"--- seed {seed}")
            for record, model in train_seed(seed, make_net, hp, data, device, max_batches):
                print_epoch(record["epochs"][-1], hp["epochs"])
                # a verdict once the seed has had its epochs; none for a check of the plumbing
                if not args.dry_run and len(record["epochs"]) == hp["epochs"]:
                    record["verdict"] = verdict(parameters, record, hp["epochs"])
                save(finished + [record])
                if args.save_model:  # the latest weights, replaced like the results
                    save_weights(f"{stem}-seed{seed}.pt", step, model, hp, record, data)
            finished.append(record)
            print_seed(record)

        report = report_errors(model, data, max_batches, f"{step} seed {seed}'s final model",
                               stem + "-mistakes.svg")
        results.update(errors=dict(seed=seed, **report), across_seeds=figures_over_seeds(finished))
        if len(finished) > 1:
            print_figures(results["across_seeds"])
        if args.dry_run:
            print("dry run: a check of the plumbing, no verdict on the budget")
        save(finished, status="complete", finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        print(f"results: {args.out}; curves: {stem}-curves.svg; samples: {stem}-samples.svg"
              + (f"; weights: {stem}-seed*.pt" if args.save_model else ""))
        return results
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C cannot cut the save short
        if results.get("status") == "complete":
            fail(step, f"interrupted after the run had finished; it is all in {args.out}", 130)
        if not results["runs"]:
            for path in filter(os.path.exists, written):
                os.remove(path)
            fail(step, "interrupted before anything finished; nothing was written", code=130)
        if len(finished) == len(args.seeds):
            save(finished, status="interrupted", across_seeds=figures_over_seeds(finished))
            fail(step, "interrupted after every seed had finished" + (
                "" if "errors" in results else " (what the network gets wrong: not reported)")
                + f"; every seed is in {args.out}", code=130)
        save(results["runs"], status="interrupted")
        fail(step, f"interrupted; what finished so far is in {args.out}", code=130)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        release(args.lock)
