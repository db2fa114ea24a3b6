"""The optimizers and schedules that only the scripts in results/ use, beside them: the exercise's
StepLR, a public answer's Adam, and a rate set per epoch on straight lines. A script passes
`make_training=recipes.make_training` to `common.main`; its HPARAMS say which."""
import torch


def make_training(model, hp, steps_per_epoch):
    """(optimizer, scheduler) from hp: Adam where hp["optimizer"] is "adam", else SGD with
    momentum; StepLR from hp["step_lr"] (its step size in epochs), or hp["lr_points"]: (epoch,
    share of lr) points, the rate set per epoch on the straight line between them; with neither,
    a constant rate. The scripts that use it set one_cycle=None."""
    if hp.get("optimizer") == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=hp["lr"],
                                     weight_decay=hp["weight_decay"])
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=hp["lr"], momentum=hp["momentum"],
                                    weight_decay=hp["weight_decay"])
    if hp.get("step_lr"):  # stepped every batch, so its step size is counted in batches
        return optimizer, torch.optim.lr_scheduler.StepLR(
            optimizer, hp["step_lr"]["step_size"] * steps_per_epoch, hp["step_lr"]["gamma"])
    if hp.get("lr_points"):
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: share_of_lr(
            hp["lr_points"], step // steps_per_epoch))
    return optimizer, None


def share_of_lr(points, epoch):
    """The share of the peak rate at epoch, on the line between the points around it."""
    (e0, s0), (e1, s1) = next(((a, b) for a, b in zip(points, points[1:]) if epoch <= b[0]),
                              points[-2:])
    return s0 + (s1 - s0) * (min(epoch, e1) - e0) / (e1 - e0)
