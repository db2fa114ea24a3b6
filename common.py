"""The engine under the step files, each its network (`make_net(hp)`) and `HPARAMS` over
`main(__file__, make_net, HPARAMS)`. Read top-down, it follows a run: the learner, what the network
gets wrong, the figures over seeds, and `main`. Beside it: the flags (flags.py), a run's files and
what Ctrl-C does to them (run_files.py), the pictures (pictures.py), the MNIST files
(mnist_files.py)."""
import math
import os
import statistics
import sys
import time

import flags

with flags.interrupts_in_one_line():  # torch loads for seconds: Ctrl-C meanwhile is one line
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torchvision.datasets.mnist import read_image_file, read_label_file

import pictures
import run_files
from mnist_files import DataError, prepare_mnist, raw_folder

TARGET_ACCURACY = 99.4  # percent, on the 10,000 test images
MAX_PARAMETERS = 10_000  # strictly fewer
MAX_EPOCHS = 15
LAST_EPOCHS = 3  # a seed "holds" the target when each of its last three epochs is at or above it
TEST_BATCH_SIZE, DRY_RUN_BATCHES = 1000, 3  # a dry run: 3 train and 3 test batches an epoch


# ==============================================================================================
# The learner: MNIST as tensors, augmentation, model summary, train, evaluate, one seed's run.
def load_mnist(data_dir, device, log=print):
    """The whole of MNIST on the device, and the source its files came from: {"train": (images,
    labels), "test": (...), "mean", "std", "stats"}, images in [0, 1] as N x 1 x 28 x 28."""
    source, raw = prepare_mnist(data_dir, log), raw_folder(data_dir)
    data = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_image_file(os.path.join(raw, f"{prefix}-images-idx3-ubyte"))
        labels = read_label_file(os.path.join(raw, f"{prefix}-labels-idx1-ubyte"))
        data[split] = (images.unsqueeze(1).to(device).float() / 255, labels.to(device))
    stats = pixel_stats(data["train"][0])
    data.update(mean=stats["mean"], std=stats["std"], stats=stats)
    return data, source


def pixel_stats(images):
    """The images' shape and their pixels' min, max, mean and std (in double precision)."""
    pixels = images.double()
    return {"shape": [len(pixels), 28, 28],
            **{key: getattr(pixels, key)().item() for key in ("min", "max", "mean", "std")}}


def print_data(data, source):
    stats = data["stats"]
    print(f"data: MNIST from {source}: {len(data['train'][1]):,} train, {len(data['test'][1]):,} "
          f"test images\ndata: train pixels: shape {tuple(stats['shape'])}, min {stats['min']:.4f}"
          f", max {stats['max']:.4f}, mean {stats['mean']:.4f}, std {stats['std']:.4f}, "
          f"var {stats['std'] ** 2:.4f}")


def augment(images, max_degrees, max_shift, generator):
    """Each image rotated by its own angle in [-max_degrees, max_degrees], then shifted by its own
    offset in [-max_shift, max_shift] px per axis (uniform draws): one affine grid for the batch,
    nearest pixel, black fill, as torchvision's RandomAffine; with neither, the images unchanged."""
    if not (max_degrees or max_shift):
        return images
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


def summarize(model, device, log=print):
    """The model's layers as rows (name, output shape, parameters, receptive field), logged, and
    its total parameters."""
    rows, rf, jump = [], 1, 1

    def record(module, inputs, output):
        nonlocal rf, jump
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k, s, d = (v if isinstance(v, int) else v[0] for v in  # int or (height, width)
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
    total = sum(p.numel() for p in model.parameters())
    width = max([13] + [len(row[0]) for row in rows])  # a long layer name keeps the columns
    log(f"{'layer':<{width + 3}}{'output shape':>16}{'params':>10}{'RF':>6}")
    for i, (name, shape, params, rf) in enumerate(rows, 1):
        log(f"{i:>2} {name:<{width}}{str(shape):>16}{params:>10,}{rf:>6}")
    log(f"total parameters: {total:,}")
    return rows, total


def train(model, data, optimizer, scheduler, *, hp, generator, max_batches=None, average=None,
          progress=None):
    """One epoch over a fresh permutation; mean loss and accuracy (%) on the augmented batches.
    `average` and `progress(done, batches)`, if given, are told of every batch."""
    model.train()
    images, labels = data["train"]
    order = torch.randperm(len(labels), generator=generator, device=labels.device)
    batches = order.split(hp["batch_size"])[:max_batches]
    loss_sum, correct = torch.zeros((), device=labels.device), torch.zeros((), device=labels.device)
    for done, index in enumerate(batches, 1):
        x = augment(images[index], hp["rotation"], hp["translate"], generator)
        output, y = model((x - data["mean"]) / data["std"]), labels[index]
        loss = F.nll_loss(output, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler:
            scheduler.step()
        if average is not None:
            average.update_parameters(model)
        loss_sum += loss.detach() * len(y)  # kept on the device: no sync per batch
        correct += (output.argmax(1) == y).sum()
        if progress:
            progress(done, len(batches))
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


def sgd_one_cycle(model, hp, steps_per_epoch):
    """The steps' optimizer and schedule: SGD with momentum and weight decay, and a OneCycleLR
    peaking at hp["lr"] (stepped every batch) where hp["one_cycle"] gives its settings, else a
    constant rate. Returns (optimizer, scheduler or None)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=hp["lr"], momentum=hp["momentum"],
                                weight_decay=hp["weight_decay"])
    if not hp["one_cycle"]:
        return optimizer, None
    return optimizer, torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=hp["lr"], epochs=hp["epochs"], steps_per_epoch=steps_per_epoch,
        **hp["one_cycle"])


def train_seed(seed, make_net, hp, data, device, max_batches=None, make_training=sgd_one_cycle,
               show_progress=False):
    """One network trained from seed; yields (record, model, test predictions) after every epoch,
    the record growing. make_training(model, hp, steps per epoch) gives (optimizer, scheduler).
    With hp["ema"] (a decay), the model evaluated and yielded is an exponential moving average;
    with show_progress, each epoch shows a progress_line."""
    torch.manual_seed(seed)
    generator = torch.Generator(device=device).manual_seed(seed)
    model = make_net(hp).to(device)
    batches = min(math.ceil(len(data["train"][1]) / hp["batch_size"]), max_batches or math.inf)
    optimizer, scheduler = make_training(model, hp, batches)
    average = None
    if hp.get("ema"):  # the weights and the BatchNorm statistics, averaged after every batch
        average = torch.optim.swa_utils.AveragedModel(
            model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(hp["ema"]),
            use_buffers=True)
    evaluated = model if average is None else average.module  # what is tested and yielded
    record, start = {"seed": seed, "epochs": []}, time.time()
    for epoch in range(1, hp["epochs"] + 1):
        t0, lr = time.time(), optimizer.param_groups[0]["lr"]
        train_loss, train_acc = train(
            model, data, optimizer, scheduler, hp=hp, generator=generator, max_batches=max_batches,
            average=average, progress=progress_line(epoch, hp["epochs"]) if show_progress else None)
        test_loss, test_acc, predicted = evaluate(evaluated, data, max_batches)
        record["epochs"].append({"epoch": epoch, "lr": lr, "train_loss": train_loss,
                                 "train_acc": train_acc, "test_loss": test_loss,
                                 "test_acc": test_acc, "seconds": round(time.time() - t0, 2)})
        record.update(outcome(record["epochs"]), seconds=round(time.time() - start, 2))
        yield record, evaluated, predicted


# ==============================================================================================
# What the network gets wrong: accuracy per digit, the confusion matrix, the digits it missed.
def mistakes(predicted, labels):
    """Counts, accuracy per digit and the confusion matrix of predictions against labels; and the
    indices of the images missed."""
    confusion = torch.bincount(labels * 10 + predicted, minlength=100).view(10, 10).cpu()
    per_digit = 100.0 * confusion.diag() / confusion.sum(1).clamp(min=1)
    missed = (predicted != labels).nonzero().flatten()
    return {"test_images": len(labels), "mistakes": len(missed),
            "test_acc": 100.0 * (len(labels) - len(missed)) / len(labels),
            "per_digit_acc": [round(v, 2) for v in per_digit.tolist()],
            "confusion": confusion.tolist()}, missed


def print_mistakes(whose, report):
    print(f"what {whose} gets wrong: {report['mistakes']} of {report['test_images']:,} test "
          f"images ({report['test_acc']:.2f}% right)\ndigit        "
          + "".join(f"{d:>6}" for d in range(10)) + "\nright (%)    "
          + "".join(f"{v:>6.1f}" for v in report["per_digit_acc"])
          + "\nconfusion matrix, a row per true digit, a column per prediction:")
    for digit, row in enumerate(report["confusion"]):
        print(f"  {digit}          " + "".join(f"{v:>6}" for v in row))


def report_errors(predicted, data, whose, run):
    """What `whose` got wrong in the test images it predicted, drawn, printed and returned."""
    images, labels = (t[:len(predicted)] for t in data["test"])
    report, missed = mistakes(predicted, labels)
    run.write_picture("mistakes", pictures.mistakes_svg(whose, images[missed].cpu(), *(
        t.tolist() for t in (labels[missed], predicted[missed])), len(labels)))
    print_mistakes(whose, report)
    print(f"mistakes: {run.files['mistakes']}")
    return report


# ==============================================================================================
# The figures: a seed's outcome, the budget's verdict, a step's figures over its seeds (and print).
def outcome(epochs):
    """Best test accuracy and its epoch, final accuracy, first epoch at or above the target."""
    best = max(epochs, key=lambda e: e["test_acc"])
    first = next((e["epoch"] for e in epochs if e["test_acc"] >= TARGET_ACCURACY), None)
    return {"best_test_acc": best["test_acc"], "best_epoch": best["epoch"],
            "final_test_acc": epochs[-1]["test_acc"], "first_epoch_at_target": first,
            "best_train_acc": max(e["train_acc"] for e in epochs)}


def verdict(parameters, record, epochs):
    """Plain words against the budget (< 10,000 params, 99.4% in 15 epochs), or a short run's."""
    first = record["first_epoch_at_target"]
    if epochs < MAX_EPOCHS:
        reached = f"reached {TARGET_ACCURACY}% at epoch {first}" if first else (
            f"{TARGET_ACCURACY}% not reached")
        return (f"{reached} in {epochs} {'epochs' if epochs > 1 else 'epoch'} (no verdict: the "
                f"budget is judged on {MAX_EPOCHS})")
    reasons = []
    if parameters >= MAX_PARAMETERS:
        reasons.append(f"{parameters:,} parameters is not under {MAX_PARAMETERS:,}")
    if not first or first > MAX_EPOCHS:
        reasons.append(f"{TARGET_ACCURACY}% not reached within {MAX_EPOCHS} epochs")
    if reasons:
        return "misses the budget: " + "; ".join(reasons)
    return "meets the budget"


def figures_over_seeds(runs):
    """Final and best test accuracy over the seeds (their stored outcomes); how many reached the
    target in some epoch, and held it in each of the last three (where not, the dips); s/epoch."""
    def spread(values):
        return {"mean": statistics.fmean(values), "min": min(values), "max": max(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0}

    below = {r["seed"]: {e["epoch"]: e["test_acc"] for e in r["epochs"][-LAST_EPOCHS:]
                         if e["test_acc"] < TARGET_ACCURACY} for r in runs}
    return {"seeds": [r["seed"] for r in runs],
            "final_test_acc": spread([r["final_test_acc"] for r in runs]),
            "best_test_acc": spread([r["best_test_acc"] for r in runs]),
            "seeds_reaching_target": sum(r["first_epoch_at_target"] is not None for r in runs),
            "seeds_holding_target_last_epochs": sum(not dips for dips in below.values()),
            "seeds_below_target_last_epochs": {str(s): d for s, d in below.items() if d},
            "seconds_per_epoch": statistics.median(e["seconds"] for r in runs for e in r["epochs"])}


def progress_line(epoch, epochs, every=0.5):
    """For a terminal: one line rewritten in place as an epoch trains (batches done, seconds so
    far and left), at most every `every` s, cleared after the last; the host's clock, no sync."""
    start, shown = time.time(), -every

    def show(done, batches):
        nonlocal shown
        now = time.time() - start
        if done == batches:
            print("\r" + " " * 79 + "\r", end="", flush=True)
        elif now - shown >= every:
            shown = now
            print(f"\repoch {epoch:>2}/{epochs}  batch {done}/{batches}  {now:.0f}s, about "
                  f"{now / done * (batches - done):.0f}s left ", end="", flush=True)
    return show


def print_epoch(e, epochs):
    print(f"epoch {e['epoch']:>2}/{epochs}  lr {e['lr']:.6f}  train loss {e['train_loss']:.4f} "
          f"acc {e['train_acc']:6.2f}%  test loss {e['test_loss']:.4f} acc {e['test_acc']:6.2f}%  "
          f"{e['seconds']:5.1f}s", flush=True)


def print_seed(r):
    first = f"epoch {r['first_epoch_at_target']}" if r["first_epoch_at_target"] else "not reached"
    last = " ".join(f"{e['test_acc']:.2f}" for e in r["epochs"][-LAST_EPOCHS:])
    print(f"seed {r['seed']}: final {r['final_test_acc']:.2f}%  best {r['best_test_acc']:.2f}% "
          f"(epoch {r['best_epoch']})  first >= {TARGET_ACCURACY}%: {first}  last epochs: {last}  "
          f"{r['seconds']:.0f}s  {r.get('verdict', r.get('reached', ''))}".rstrip(), flush=True)


def print_figures(f):
    n = len(f["seeds"])
    print(f"over {n} seeds ({flags.compact(f['seeds'])}):")
    for key, s in (("final", f["final_test_acc"]), ("best", f["best_test_acc"])):
        print(f"  {key:<5} test acc: mean {s['mean']:.3f}% ± {s['std']:.3f}, "
              f"min {s['min']:.2f}%, max {s['max']:.2f}%")
    print(f"  reached {TARGET_ACCURACY}% in some epoch: {f['seeds_reaching_target']}/{n} seeds")
    dips = "".join(f"; seed {seed} below at " + ", ".join(f"epoch {e} ({v:.2f}%)" for e, v in
                                                          d.items())
                   for seed, d in f["seeds_below_target_last_epochs"].items())
    print(f"  at or above {TARGET_ACCURACY}% on each of the last {LAST_EPOCHS} epochs: "
          f"{f['seeds_holding_target_last_epochs']}/{n} seeds{dips}")


# ==============================================================================================
# The runner: the data, saved weights evaluated, or each seed trained; then `main`.
def samples_svg(step, data, hp):
    """A picture of the first 64 training images as the network sees them, with their labels."""
    images, labels = (t[:64] for t in data["train"])
    images = augment(images, hp["rotation"], hp["translate"],
                     torch.Generator(images.device).manual_seed(0))
    how = (f"rotated ±{hp['rotation']:g}°, shifted ±{hp['translate']:g} px"
           if hp["rotation"] or hp["translate"] else "as they are")
    return pictures.digits_svg(f"{step}'s first 64 training images: {how}", images.cpu(),
                               list(map(str, labels.tolist())))


def evaluate_weights(results, model, checkpoint, data, args, run):
    """The figures of what the saved weights get wrong, also saved in the evaluation's files."""
    whose = f"{args.eval} (seed {checkpoint.get('seed')}, epoch {checkpoint.get('epoch')})"
    predicted = evaluate(model, data, max_batches(args))[2]
    report = report_errors(predicted, data, whose, run)
    saved = {k: checkpoint.get(k) for k in ("seed", "epoch", "test_acc")}  # when it was saved
    run_files.ignore_interrupts()  # all has finished: the last save is not to be cut short
    run.save(results, status="complete", eval=args.eval, **saved, errors=report,
             test_images=report["test_images"])
    print(f"evaluation: {run.out}")
    return report


def max_batches(args):
    """Batches an epoch: a dry run's few, or None for all."""
    return DRY_RUN_BATCHES if args.dry_run else None


def train_seeds(results, make_net, make_training, data, args, run):
    """The results of training each of args.seeds (saved, with their curves, after every epoch),
    with the figures over the seeds and what the last seed's final model gets wrong."""
    step, hp = results["step"], results["hyperparameters"]
    terminal = sys.stdout.isatty()  # a progress line there; none in a log file or a pipe
    print_run(results, args)
    run.write_picture("samples", samples_svg(step, data, hp))
    for seed in args.seeds:
        if len(args.seeds) > 1:
            print(f"--- seed {seed}")
        finished = list(results["runs"])  # the seeds before this one
        for record, model, predicted in train_seed(seed, make_net, hp, data, args.device,
                                                   max_batches(args), make_training,
                                                   show_progress=terminal and not args.dry_run):
            print_epoch(record["epochs"][-1], hp["epochs"])
            if not args.dry_run and len(record["epochs"]) == hp["epochs"]:  # none for a dry run
                record["verdict" if hp["epochs"] >= MAX_EPOCHS else "reached"] = verdict(
                    results["parameters"], record, hp["epochs"])
            run.save(results, runs=finished + [record])
            if args.save_model:  # the latest weights, replaced like the results
                run_files.save_weights(run.files[f"seed{seed}"], step, model, hp, record, data)
        results["across_seeds"] = figures_over_seeds(results["runs"])
        print_seed(record)
    results["errors"] = dict(seed=seed, **report_errors(
        predicted, data, f"{step} seed {seed}'s final model", run))
    if len(args.seeds) > 1:
        print_figures(results["across_seeds"])
    if args.dry_run:
        print("dry run: a check of the plumbing, no verdict on the budget")
    run_files.ignore_interrupts()  # all has finished: the last save is not to be cut short
    run.save(results, status="complete", finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    weights = f"; weights: {run.files['results'][:-5]}-seed*.pt" if args.save_model else ""
    print(f"results: {run.out}; curves: {run.files['curves']}; samples: "
          f"{run.files['samples']}; network: {run.files['network']}{weights}")
    return results


def print_run(results, args):
    """The run's header line: its hyperparameters, seeds, device, overrides and whether dry."""
    hp, overrides = results["hyperparameters"], results["overrides"]
    print(f"{results['step']}: {', '.join(f'{k}={v}' for k, v in hp.items())}; seeds "
          f"{flags.compact(args.seeds)}; device {args.device}"
          + (f"; overrides {overrides}" if overrides else "")
          + ("; DRY RUN" if args.dry_run else ""))


def main(step_file, make_net, hparams, argv=None, make_training=sgd_one_cycle):
    """Run the step on argv (None: the command line, this process the run's). Ctrl-C or `kill`
    before the results are written: exit 130, one line, a file that says what finished; after:
    ignored, so the process exits quietly; a caller in Python (argv given) gets Ctrl-C back."""
    run_files.stop_on_interrupts()  # `kill` stops a run as Ctrl-C does
    try:
        return run_step(step_file, make_net, hparams, make_training,
                        sys.argv[1:] if argv is None else list(argv))
    finally:
        if argv is None:
            run_files.ignore_interrupts()
        else:
            run_files.stop_on_interrupts()


def run_step(step_file, make_net, hparams, make_training, argv):
    """The results of the run argv asks for (--eval: the evaluation's), in the file claimed."""
    step = os.path.splitext(os.path.basename(step_file))[0]
    prog = f"{step}.py"
    args, hp, overrides = flags.parse_args(step, hparams, argv)
    if args.device.type == "cuda":  # same seed, same device, same numbers
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        model = make_net(hp).to(args.device)
        checkpoint = None
        if args.eval:  # saved weights are checked before a file is claimed for their evaluation
            try:
                checkpoint = run_files.load_weights(args.eval, step, model, args.device)
            except ValueError as e:
                flags.fail(prog, f"argument --eval: {args.eval}: {e}")

        def replaceable(earlier):  # a dry run replaces a dry run's file, never a real run's
            return args.dry_run and not args.eval and earlier.get("dry_run")
        seeds = [] if args.eval else args.seeds
        with run_files.claimed(prog, args.out, seeds, replaceable, TARGET_ACCURACY) as run:
            try:
                data, source = load_mnist(args.data_dir, args.device)
            except DataError as e:
                flags.fail(prog, e, code=1)
            print_data(data, source)
            rows = summarize(model, args.device)[0]
            results = run_files.describe(step_file, argv, args, hp, overrides, model, rows,
                                         {"source": source, **data["stats"]})
            if args.eval:
                return evaluate_weights(results, model, checkpoint, data, args, run)
            run.write_picture("network", pictures.network_svg([(prog, rows)]))
            return train_seeds(results, make_net, make_training, data, args, run)
    except KeyboardInterrupt:  # before the results file was claimed
        flags.fail(prog, "interrupted before anything finished; nothing was written", code=130)
