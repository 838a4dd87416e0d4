#!/usr/bin/env python3
"""Builds a small seeded MLP in PyTorch (nn.Linear, ReLU, nn.Linear) and saves its weights, an input and
PyTorch's output as mlp.safetensors next to this script (or to the path given), for Program.cs to reproduce.

    /usr/bin/python3 samples/PyTorchToDotNet/make_mlp.py [OUT]

torch 1.13 has no safetensors writer, so the format (an 8-byte little-endian header length, a JSON header
padded with spaces to a multiple of 8, then the raw little-endian data) is written here directly.
"""
import json
import os
import struct
import sys

import torch


def save_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name in sorted(tensors):
        blob = tensors[name].detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(path + ".tmp", path)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "mlp.safetensors")
    torch.manual_seed(2024)
    model = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))
    x = torch.randn(5, 20)
    with torch.no_grad():
        y = model(x)
    # nn.Sequential names its layers "0", "1", "2": the state dict holds 0.weight, 0.bias, 2.weight, 2.bias.
    tensors = dict(model.state_dict())
    tensors["input"] = x
    tensors["output"] = y
    save_safetensors(out, tensors, {"torch": torch.__version__, "model": "Linear(20, 32), ReLU, Linear(32, 3)"})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
