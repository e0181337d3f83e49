# Makes schedules.json, the learning rates of torch.optim.lr_scheduler (PyTorch 1.13, Debian's python3-torch) that
# ScheduleTests compares CellGen's schedules with:
#   cd tests/CellGen.Tests/Fixtures/pytorch-schedules && /usr/bin/python3 make.py
# Each case: the scheduler's arguments, and the learning rate before the first step and after each scheduler.step()
# (ReduceLROnPlateau: after step(metric) for each metric of the list), as PyTorch's optimiser holds it (a Python float).
import json, math, warnings
import torch

warnings.filterwarnings("ignore")

def optimizer(lr):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)

def run(make, lr, steps, metrics=None):
    opt = optimizer(lr)
    scheduler = make(opt)
    rates = [opt.param_groups[0]["lr"]]
    for s in range(steps):
        opt.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[s])
        rates.append(opt.param_groups[0]["lr"])
    return rates

cases = []
for step_size, gamma in [(3, 0.5), (7, 0.1), (1, 0.9)]:
    cases.append({"kind": "step", "lr": 0.1, "step_size": step_size, "gamma": gamma,
                  "rates": run(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size, gamma), 0.1, 30)})
for gamma in [0.95, 0.5]:
    cases.append({"kind": "exponential", "lr": 0.01, "gamma": gamma,
                  "rates": run(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma), 0.01, 40)})
for warmup, total, start, eta_min in [(5, 30, 0.1, 0.0), (0, 20, 1.0, 1e-4), (10, 25, 0.01, 1e-5)]:
    def make(o, warmup=warmup, total=total, start=start, eta_min=eta_min):
        cosine = torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=total - warmup, eta_min=eta_min)
        if warmup == 0:
            return cosine
        linear = torch.optim.lr_scheduler.LinearLR(o, start_factor=start, end_factor=1.0, total_iters=warmup)
        return torch.optim.lr_scheduler.SequentialLR(o, [linear, cosine], milestones=[warmup])
    cases.append({"kind": "cosine", "lr": 0.003, "warmup": warmup, "total": total, "start_factor": start, "eta_min": eta_min,
                  "rates": run(make, 0.003, total)})
metrics = [1.0, 0.9, 0.95, 0.93, 0.92, 0.91, 0.9, 0.9, 0.899995, 0.89, 0.95, 0.96, 0.97, 0.98, 0.99, 1.0, 0.5, 0.6, 0.6, 0.6,
           0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
for mode, factor, patience, threshold, threshold_mode, cooldown, min_lr in [
        ("min", 0.1, 2, 1e-4, "rel", 0, 0.0), ("min", 0.5, 0, 0.01, "abs", 2, 1e-3), ("max", 0.5, 1, 1e-4, "rel", 1, 0.0)]:
    def make(o, mode=mode, factor=factor, patience=patience, threshold=threshold, threshold_mode=threshold_mode, cooldown=cooldown, min_lr=min_lr):
        return torch.optim.lr_scheduler.ReduceLROnPlateau(o, mode=mode, factor=factor, patience=patience, threshold=threshold,
                                                          threshold_mode=threshold_mode, cooldown=cooldown, min_lr=min_lr)
    cases.append({"kind": "plateau", "lr": 0.1, "mode": mode, "factor": factor, "patience": patience, "threshold": threshold,
                  "threshold_mode": threshold_mode, "cooldown": cooldown, "min_lr": min_lr, "metrics": metrics,
                  "rates": run(make, 0.1, len(metrics), metrics)})
with open("schedules.json", "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
print(len(cases), "cases")
