#!/usr/bin/env python3
"""PyTorch as the oracle for BlasLinear's safetensors support.

  pytorch_parity.py version
      Prints the version of torch that the other commands use.
  pytorch_parity.py make OUTDIR
      Builds layers with PyTorch itself (nn.Linear, and a module computing x @ W + b with W [in, out]),
      seeded, for several shapes and weight dtypes (F32; BF16 and F16, where the parameters are rounded to
      that dtype and the computation is float32 on the rounded values), runs forward and autograd backward
      for a given dY, and writes one safetensors file per case into OUTDIR: weight and bias in their dtype;
      x, dy, y, dx, dw and db in F32; the case in __metadata__.
  pytorch_parity.py check FILE EXPECTED
      Reads FILE (written by another implementation) and checks it with torch: the header's layout (length,
      space padding to a multiple of 8, keys in ordinal order after __metadata__, contiguous data offsets),
      the metadata (equal to EXPECTED's), and every tensor: the same names and shapes as EXPECTED (an all-F32
      file), and values bit for bit equal to torch's own conversion of EXPECTED's values to FILE's dtype.

Exit status 0 on success; 1 with the reason on stderr otherwise. torch 1.13 has no safetensors module,
so the format is read and written here with struct and json.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

DTYPES = {
    "F32": (torch.float32, "<f4", 4),
    "F16": (torch.float16, "<f2", 2),
    "BF16": (torch.bfloat16, "<i2", 2),
    "F64": (torch.float64, "<f8", 8),
}

# (rows, in_features, out_features): batch 1 and 7, non-square, odd sizes.
SHAPES = [(7, 13, 5), (1, 64, 33)]
FORMS = ["Linear", "ParameterLinear"]


def to_bytes(tensor, dtype):
    torch_dtype, numpy_dtype, _ = DTYPES[dtype]
    t = tensor.detach().contiguous().to(torch_dtype)
    if dtype == "BF16":
        t = t.view(torch.int16)
    return t.numpy().astype(numpy_dtype).tobytes()


def from_bytes(data, dtype, shape):
    torch_dtype, numpy_dtype, _ = DTYPES[dtype]
    t = torch.from_numpy(np.frombuffer(data, dtype=numpy_dtype).copy())
    if dtype == "BF16":
        t = t.view(torch.bfloat16)
    return t.reshape(shape)


def write_safetensors(path, tensors, metadata):
    """tensors: {name: (dtype, tensor)}. Keys in code-point order, data contiguous, header padded with spaces."""
    header = {}
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    blobs = []
    offset = 0
    for name in sorted(tensors):
        dtype, tensor = tensors[name]
        blob = to_bytes(tensor, dtype)
        header[name] = {"dtype": dtype, "shape": list(tensor.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(temporary, path)


def read_safetensors(path):
    """Returns (header_bytes, header_dict_in_order, {name: tensor}); raises ValueError on a malformed file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("shorter than 8 bytes")
    (length,) = struct.unpack("<Q", data[:8])
    if length > len(data) - 8:
        raise ValueError(f"header length {length} runs past the file")
    raw = data[8:8 + length]
    header = json.loads(raw.decode("utf-8"), object_pairs_hook=pairs_without_duplicates)
    body = data[8 + length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        tensors[name] = from_bytes(body[begin:end], entry["dtype"], entry["shape"])
    return raw, header, tensors, len(body)


def pairs_without_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate keys in {keys}")
    return dict(pairs)


class ParameterLinear(torch.nn.Module):
    """The layer people build from raw parameters: y = x @ W + b with W [in, out]."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(in_features, out_features))
        self.bias = torch.nn.Parameter(torch.randn(out_features))

    def forward(self, x):
        return x @ self.weight + self.bias


def make_case(form, dtype, rows, in_features, out_features, seed):
    torch.manual_seed(seed)
    layer = torch.nn.Linear(in_features, out_features) if form == "Linear" else ParameterLinear(in_features, out_features)
    with torch.no_grad():
        for parameter in layer.parameters():
            # The layer's weights live in `dtype`; the product is float32 on the rounded values.
            parameter.copy_(parameter.to(DTYPES[dtype][0]).to(torch.float32))
    x = torch.randn(rows, in_features, requires_grad=True)
    dy = torch.randn(rows, out_features)
    y = layer(x)
    y.backward(dy)
    tensors = {
        "weight": (dtype, layer.weight),
        "bias": (dtype, layer.bias),
        "x": ("F32", x),
        "dy": ("F32", dy),
        "y": ("F32", y),
        "dx": ("F32", x.grad),
        "dw": ("F32", layer.weight.grad),
        "db": ("F32", layer.bias.grad),
    }
    metadata = {
        "form": form, "dtype": dtype, "rows": str(rows), "in_features": str(in_features),
        "out_features": str(out_features), "seed": str(seed), "torch": torch.__version__,
    }
    return tensors, metadata


def make(outdir):
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)
    seed = 1234
    for form in FORMS:
        for dtype in ("F32", "BF16", "F16"):
            for rows, in_features, out_features in SHAPES:
                seed += 1
                tensors, metadata = make_case(form, dtype, rows, in_features, out_features, seed)
                name = f"{form}_{dtype}_{rows}x{in_features}x{out_features}.safetensors"
                write_safetensors(os.path.join(outdir, name), tensors, metadata)
                print(name)


def same_bits(actual, expected):
    """Bitwise equality of two tensors of one dtype, where any NaN matches any NaN."""
    if actual.dtype in (torch.float16, torch.bfloat16):
        a, e = actual.view(torch.int16), expected.view(torch.int16)
    elif actual.dtype == torch.float32:
        a, e = actual.view(torch.int32), expected.view(torch.int32)
    else:
        a, e = actual.view(torch.int64), expected.view(torch.int64)
    nan = torch.isnan(actual.float()) & torch.isnan(expected.float())
    return bool(((a == e) | nan).all())


def check(path, expected_path):
    raw, header, tensors, body_length = read_safetensors(path)
    _, expected_header, expected, _ = read_safetensors(expected_path)
    problems = []
    if (8 + len(raw)) % 8 != 0:
        problems.append(f"header length {len(raw)} leaves the data unaligned to 8")
    text = raw.decode("utf-8")
    if text.rstrip(" ") != text.rstrip() or not text.rstrip(" ").endswith("}"):
        problems.append("the header is padded with something other than spaces")
    keys = list(header)
    names = [k for k in keys if k != "__metadata__"]
    if "__metadata__" in header and keys[0] != "__metadata__":
        problems.append("__metadata__ is not the first key")
    if names != sorted(names):
        problems.append(f"keys are not in ordinal order: {names}")
    offset = 0
    for name in names:
        begin, end = header[name]["data_offsets"]
        if begin != offset:
            problems.append(f"{name}: data begins at {begin}, expected {offset} (contiguous)")
        offset = end
    if offset != body_length:
        problems.append(f"the data section has {body_length} bytes; the tensors cover {offset}")
    if header.get("__metadata__", {}) != expected_header.get("__metadata__", {}):
        problems.append(f"metadata {header.get('__metadata__')} != {expected_header.get('__metadata__')}")
    if sorted(names) != sorted(expected):
        problems.append(f"names {sorted(names)} != {sorted(expected)}")
    for name in names:
        if name not in expected:
            continue
        actual, reference = tensors[name], expected[name]
        if list(actual.shape) != list(reference.shape):
            problems.append(f"{name}: shape {list(actual.shape)} != {list(reference.shape)}")
            continue
        rounded = reference.to(actual.dtype)
        if not same_bits(actual, rounded):
            bad = int((~((actual.float() == rounded.float()) | (torch.isnan(actual.float()) & torch.isnan(rounded.float())))).sum())
            problems.append(f"{name}: {bad} values differ from torch's {actual.dtype} rounding")
    if problems:
        for problem in problems:
            print(f"check: {problem}", file=sys.stderr)
        return 1
    print(f"ok: {len(names)} tensors checked with torch {torch.__version__}")
    return 0


def main(argv):
    if len(argv) == 2 and argv[1] == "version":
        print(torch.__version__)
        return 0
    if len(argv) == 3 and argv[1] == "make":
        make(argv[2])
        return 0
    if len(argv) == 4 and argv[1] == "check":
        return check(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
