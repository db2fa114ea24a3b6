"""A step's command line: its flags, each hyperparameter's rule, seed ranges, the device, and the
one-line error, from the first moment on. Parsing reads the disk but never writes to it. Not the
training story, so not in common.py."""
import argparse
import contextlib
import itertools
import math
import os
import re
import signal
import sys


def stop_at_start(signum, frame):  # Ctrl-C or `kill` while torch loads: one line, as later on
    print(f"{os.path.basename(sys.argv[0])}: error: interrupted before anything finished; nothing "
          "was written", file=sys.stderr)
    os._exit(130)  # not sys.exit: torch's import code can swallow the SystemExit and go on


@contextlib.contextmanager
def interrupts_in_one_line():
    """Within the block (torch's import, say): Ctrl-C or `kill` print the one-line error and
    exit 130, where Python would print a traceback. The handlers before come back after it."""
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in before:
        signal.signal(sig, stop_at_start)
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


TRAIN_SIZE = 60_000
MAX_SEED = 2**64 - 1  # torch.manual_seed takes 0 ... 2**64 - 1


def fail(prog, message, code=2):
    """The one way a command stops on an error: one line on stderr, and the exit code."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(code)


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2 (argparse's code), no usage dump
        fail(self.prog, message)


def checked(kind, ok, wanted):
    """An argparse type: kind(text), finite and passing ok, else argparse's one-line error."""
    def parse(text):
        value = kind(text)  # a ValueError: argparse says "invalid float value: 'abc'"
        if not (math.isfinite(value) and ok(value)):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {value}")
        return value

    parse.__name__ = kind.__name__
    return parse


# What a hyperparameter's flag takes, finite and of a size the step can use; any other scalar
# hyperparameter takes a number >= 0, where 0 turns it off.
HPARAM_RULES = {
    "epochs": (int, lambda v: v >= 1, "at least 1"),
    "batch_size": (int, lambda v: 1 <= v <= TRAIN_SIZE, f"from 1 to {TRAIN_SIZE:,}"),
    "lr": (float, lambda v: 0 < v <= 10, "above 0 and at most 10"),
    "momentum": (float, lambda v: 0 <= v < 1, "at least 0 and below 1"),
    "dropout": (float, lambda v: 0 <= v < 1, "at least 0 and below 1"),
    "ema": (float, lambda v: 0 <= v < 1, "at least 0 and below 1"),
    "weight_decay": (float, lambda v: 0 <= v <= 1, "from 0 to 1"),
    "rotation": (float, lambda v: 0 <= v <= 180, "from 0 to 180"),
    "translate": (float, lambda v: 0 <= v < 14, "at least 0 and below 14 (half the image)"),
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


def compact(seeds):
    """[1, 2, 3, 5] -> '1-3 5': seeds as the flags take them."""
    runs = [[seed for _, seed in run] for _, run in  # a run: seeds that step by one
            itertools.groupby(enumerate(seeds), lambda pair: pair[1] - pair[0])]
    return " ".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else " ".join(map(str, r)) for r in runs)


def pick_device(name):
    """auto: the accelerator torch finds (CUDA, MPS, ...), else the CPU; or a device here."""
    import torch  # here, not above: common.py loads torch, where Ctrl-C is one line

    here = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else None
    if name == "auto":
        return torch.device("cpu") if here is None else here
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r} (use auto, cpu, cuda, cuda:N or mps)")
    if device.type != "cpu" and (here is None or here.type != device.type
                                 or (device.index or 0) >= torch.accelerator.device_count()):
        raise ValueError(f"device {name!r} is not available here")
    return device


def file_in_the_way(path):
    """The nearest existing folder above path, if it is a file: no folder can be made there."""
    parent = os.path.dirname(path)
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    return parent if parent and not os.path.isdir(parent) else None


def make_parser(step, hparams):
    parser = ArgumentParser(prog=f"{step}.py", description=f"Train MNIST {step}.")
    for key, default in hparams.items():  # every scalar hyperparameter is a flag
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            kind, ok, wanted = HPARAM_RULES.get(key, OTHER_HPARAM_RULE)
            unit = f" in {HPARAM_UNITS[key]}" if key in HPARAM_UNITS else ""
            name = ("the one-cycle schedule's peak lr" if key == "lr" and hparams.get("one_cycle")
                    else key.replace("_", " "))
            parser.add_argument("--" + key.replace("_", "-"), type=checked(kind, ok, wanted),
                                default=default, metavar=kind.__name__.upper(),
                                help=f"{name}{unit}, {wanted} (default: {default})")
    parser.add_argument("--seed", "--seeds", dest="seeds", type=seed_range, nargs="+",
                        action="extend", metavar="S",
                        help="seeds and ranges: 1 2 5-8; repeated flags add up (default: 1)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--data-dir", default="data", metavar="DIR",
                        help="where MNIST lives (default: data)")
    parser.add_argument("--out", metavar="FILE", help=f"results file (default: runs/{step}.json, "
                        "or runs/<step>-<overrides>.json; taken: the first free <stem>.N.json)")
    parser.add_argument("--save-model", action="store_true", help="also save the weights")
    parser.add_argument("--dry-run", action="store_true", help="a few batches: check the plumbing")
    parser.add_argument("--eval", metavar="WEIGHTS", help="evaluate saved weights; train nothing; "
                        "written to <out stem>-eval.json and -eval-mistakes.svg")
    return parser


def parse_args(step, hparams, argv):
    """The flags, the hyperparameters they give and those they override; args.out is the results
    file the run asks for (for --eval, the evaluation's own file), not yet claimed."""
    parser = make_parser(step, hparams)
    args = parser.parse_args(argv)
    hp = {key: getattr(args, key, value) for key, value in hparams.items()}
    args.seeds = [seed for seeds in args.seeds or [[1]] for seed in seeds]
    if len(set(args.seeds)) != len(args.seeds):
        parser.error("argument --seed: each seed once")
    try:
        args.device = pick_device(args.device)
    except ValueError as e:
        parser.error(f"argument --device: {e}")
    overrides = {k: v for k, v in hp.items() if v != hparams[k]}
    # a variant's file says what it varied, so that it never displaces the step's own run
    if args.out is None:
        name = step + "".join(f"-{k.replace('_', '-')}{v:g}" for k, v in overrides.items())
        args.out = os.path.join("runs", name + ("-dry-run" if args.dry_run else "") + ".json")
    if blocked := file_in_the_way(args.out):
        parser.error(f"argument --out: {blocked} is a file, not a folder")
    if args.eval:
        args.out = os.path.splitext(args.out)[0] + "-eval.json"
    return args, hp, overrides
