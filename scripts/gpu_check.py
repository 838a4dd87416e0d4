#!/usr/bin/env python3
"""Compares BlasLinear's GPU results and speed with torch.nn.functional.linear on the same GPU.

Reads what `BlasLinear.Tests.Probe gpu-check DIR` wrote into DIR: report.json (BlasLinear's timings and
the shape it exported) and the tensors of one Linear call. Checks BlasLinear's forward and backward results
against float64 within TESTING.md's bound, times PyTorch on every shape BlasLinear was timed on, with TF32
off (fp32) and on (tf32), and writes DIR/pytorch.json, which `gpu-report` folds into report.md.
"""
import json
import os
import sys
import time

import numpy as np
import torch

EPS = 2.0 ** -23


def load(folder, name, shape):
    return torch.from_numpy(np.fromfile(os.path.join(folder, "tensors", f"{name}.f32"), dtype=np.float32).reshape(shape))


def check(name, got, ref, g, k):
    ratio = ((got.double() - ref).abs() / ((k + 2) * EPS * g + 1e-30)).max().item()
    print(f"{'ok' if ratio <= 1 else 'FAILED'}: {name} worst |error| / bound = {ratio:.3f}")
    return {"name": name, "worst_over_bound": ratio, "passed": ratio <= 1}


def median_ms(fn):
    sync = torch.cuda.synchronize
    for _ in range(3):
        fn()
    sync()
    start = time.perf_counter()
    fn()
    sync()
    calls = int(min(max(0.05 / max(time.perf_counter() - start, 1e-6), 1), 2000))
    samples = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        sync()
        samples.append((time.perf_counter() - start) * 1e3 / calls)
    return sorted(samples)[3]


def time_row(row, device):
    m, k, n = row["batch"], row["in"], row["out"]
    torch.backends.cuda.matmul.allow_tf32 = row["math"] == "tf32"
    x = torch.randn(m, k, device=device, requires_grad=True)
    # ParameterLinear is x @ W with W [in, out]; Linear is F.linear with W [out, in].
    linear = row["layer"] == "Linear"
    w = torch.randn((n, k) if linear else (k, n), device=device, requires_grad=True)
    b = torch.randn(n, device=device, requires_grad=True)
    forward = (lambda: torch.nn.functional.linear(x, w, b)) if linear else (lambda: torch.matmul(x, w) + b)
    if row["direction"].startswith("forward"):
        with torch.no_grad():
            return median_ms(forward)
    out = forward()
    grad = torch.randn_like(out)
    return median_ms(lambda: torch.autograd.grad(out, (x, w, b), grad, retain_graph=True))


def main(folder):
    with open(os.path.join(folder, "report.json")) as f:
        report = json.load(f)
    shape = report["export"]
    m, k, n = shape["m"], shape["k"], shape["n"]
    x, w, b = load(folder, "x", (m, k)), load(folder, "weight", (n, k)), load(folder, "bias", (n,))
    dy = load(folder, "dy", (m, n))
    xd, wd, bd, dyd = x.double(), w.double(), b.double(), dy.double()
    label = f"Linear {m}x{k}->{n} (BlasLinear vs PyTorch float64)"
    checks = [
        check(f"{label}: forward Y", load(folder, "y", (m, n)), xd @ wd.T + bd, xd.abs() @ wd.abs().T + bd.abs(), k),
        check(f"{label}: backward dX", load(folder, "dx", (m, k)), dyd @ wd, dyd.abs() @ wd.abs(), n),
        check(f"{label}: backward dW", load(folder, "dweight", (n, k)), dyd.T @ xd, dyd.abs().T @ xd.abs(), m),
        check(f"{label}: backward db", load(folder, "dbias", (n,)), dyd.sum(0), dyd.abs().sum(0), m),
    ]

    device = torch.device("cuda")
    try:
        import nvidia
        wheels = os.pathsep.join(nvidia.__path__)
    except ImportError:
        wheels = "none"
    environment = {
        "version": torch.__version__,
        "device": torch.cuda.get_device_name(0),
        "CUDA": str(torch.version.cuda),
        "cuBLAS": str(torch._C._cuda_getCompiledVersion()) if hasattr(torch._C, "_cuda_getCompiledVersion") else "?",
        "python": sys.executable,
        "nvidia wheels": wheels,
    }
    timings = []
    for row in report["timings"]:
        ms = time_row(row, device)
        timings.append({key: row[key] for key in ("layer", "direction", "batch", "in", "out", "math")} | {"median_ms": ms})
        print(f"PyTorch {row['layer']} {row['direction']} {row['batch']}x{row['in']}->{row['out']} {row['math']}: {ms:.4f} ms")
    torch.backends.cuda.matmul.allow_tf32 = False
    with open(os.path.join(folder, "pytorch.json"), "w") as f:
        json.dump({"environment": environment, "checks": checks, "timings": timings}, f, indent=2)
    return 0 if all(c["passed"] for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "gpu-check-out"))
