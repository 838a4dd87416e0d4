#!/usr/bin/env python3
"""Compares BlasLinear's GPU results and speed with torch.nn.functional.linear on the same GPU.

Reads what `BlasLinear.Tests.Probe gpu-check DIR` wrote into DIR: the tensors of one Linear call
(32×4096→4096) and BlasLinear's timings. Checks the forward and backward results against float64
within TESTING.md's bound, times PyTorch (fp32, TF32 off) on the same shapes, prints the ratios.
"""
import csv
import sys
import time

import numpy as np
import torch

EPS = 2.0 ** -23


def load(folder, name, shape):
    return torch.from_numpy(np.fromfile(f"{folder}/{name}.f32", dtype=np.float32).reshape(shape))


def within_bound(name, got, ref, g, k):
    ratio = ((got.double() - ref).abs() / ((k + 2) * EPS * g + 1e-30)).max().item()
    print(f"{'ok' if ratio <= 1 else 'FAILED'}: {name} worst |error| / bound = {ratio:.3f}")
    return ratio <= 1


def median_ms(fn, sync):
    for _ in range(3):
        fn()
    sync()
    start = time.perf_counter(); fn(); sync()
    calls = int(min(max(0.05 / max(time.perf_counter() - start, 1e-6), 1), 2000))
    samples = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        sync()
        samples.append((time.perf_counter() - start) * 1e3 / calls)
    return sorted(samples)[3]


def main(folder):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    m, k, n = 32, 4096, 4096
    x, w, b = load(folder, "x", (m, k)), load(folder, "weight", (n, k)), load(folder, "bias", (n,))
    dy = load(folder, "dy", (m, n))
    xd, wd, bd, dyd = x.double(), w.double(), b.double(), dy.double()
    ok = within_bound("forward Y vs float64", load(folder, "y", (m, n)), xd @ wd.T + bd, xd.abs() @ wd.abs().T + bd.abs(), k)
    ok &= within_bound("backward dX vs float64", load(folder, "dx", (m, k)), dyd @ wd, dyd.abs() @ wd.abs(), n)
    ok &= within_bound("backward dW vs float64", load(folder, "dweight", (n, k)), dyd.T @ xd, dyd.abs().T @ xd.abs(), m)
    ok &= within_bound("backward db vs float64", load(folder, "dbias", (n,)), dyd.sum(0), dyd.abs().sum(0), m)

    device = torch.device("cuda")
    sync = torch.cuda.synchronize
    print(f"\nPyTorch {torch.__version__} on {torch.cuda.get_device_name(0)}, TF32 off")
    print(f"{'layer':<16}{'direction':<10}{'shape':>18}{'BlasLinear ms':>15}{'PyTorch ms':>12}{'PyTorch/BlasLinear':>20}")
    with open(f"{folder}/blaslinear_timings.csv") as f:
        for row in csv.DictReader(f):
            bm, bk, bn = int(row["batch"]), int(row["in"]), int(row["out"])
            xt = torch.randn(bm, bk, device=device, requires_grad=True)
            # ParameterLinear is x @ W with W [in, out]; Linear is F.linear with W [out, in].
            linear = row["layer"] == "Linear"
            wt = torch.randn((bn, bk) if linear else (bk, bn), device=device, requires_grad=True)
            bt = torch.randn(bn, device=device, requires_grad=True)
            forward = (lambda: torch.nn.functional.linear(xt, wt, bt)) if linear else (lambda: torch.matmul(xt, wt) + bt)
            if row["direction"] == "forward":
                with torch.no_grad():
                    torch_ms = median_ms(forward, sync)
            else:
                out = forward()
                grad = torch.randn_like(out)
                torch_ms = median_ms(lambda: torch.autograd.grad(out, (xt, wt, bt), grad, retain_graph=True), sync)
            ours = float(row["median_ms"])
            print(f"{row['layer']:<16}{row['direction']:<10}{f'{bm}x{bk}->{bn}':>18}{ours:>15.4f}{torch_ms:>12.4f}{torch_ms / ours:>20.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "gpu-check-out"))
