"""Make the PyTorch fixture sgdlab's model tests check against (model/testdata/torch).

Run with Debian's PyTorch:  /usr/bin/python3 bench/peers/torch_fixture.py
It builds, in float64, a small CNN (Conv2d with stride and padding, max and average
pooling, flatten, Linear) and an MLP (nn.Sequential of Linear and Tanh), draws their
weights, an input batch and targets, and records what PyTorch computes at those weights:
the loss L = (1/N) sum_mu 1/2 |f(x_mu) - y_mu|^2 (sgdlab's convention), its gradient and
one Hessian-vector product H v (double backward). Weights, gradient, v and H v are
written as safetensors state dicts (PyTorch's layout), inputs as .npy in sgdlab's
channels-last layout, and the loss in expected.json. The files are committed, so the test
needs no Python.
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "model",
                   "testdata", "torch")
torch.manual_seed(7)
torch.set_default_dtype(torch.float64)


class CNN(torch.nn.Module):
    """sgdlab: cnn:10x10x2-c3k3s2p1-m2s1-c4k3p1-a2-f5-f3:relu"""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(2, 3, 3, stride=2, padding=1)
        self.conv2 = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.fc1 = torch.nn.Linear(16, 5)
        self.fc2 = torch.nn.Linear(5, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, stride=1)  # 5x5 -> 4x4
        x = F.avg_pool2d(F.relu(self.conv2(x)), 2)  # 4x4 -> 2x2
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


def save_safetensors(path, tensors):
    """The safetensors format written directly: 8-byte header length, JSON header, F64 data."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().numpy().astype("<f8").tobytes()
        header[name] = {"dtype": "F64", "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    js = json.dumps(header).encode()
    js += b" " * (-len(js) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)) + js + b"".join(blobs))


def record(name, net, x_torch, x_sgdlab, y):
    params = dict(net.named_parameters())
    for p in params.values():
        torch.nn.init.normal_(p, std=0.5)
    names = list(params)

    out = net(x_torch)
    loss = 0.5 * ((out - y) ** 2).sum(dim=1).mean()
    grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
    v = [torch.randn_like(p) for p in params.values()]
    gv = sum((g * vi).sum() for g, vi in zip(grads, v))
    hv = torch.autograd.grad(gv, list(params.values()))
    save_safetensors(os.path.join(OUT, name + ".safetensors"), params)
    save_safetensors(os.path.join(OUT, name + "_grad.safetensors"), dict(zip(names, grads)))
    save_safetensors(os.path.join(OUT, name + "_v.safetensors"), dict(zip(names, v)))
    save_safetensors(os.path.join(OUT, name + "_hv.safetensors"), dict(zip(names, hv)))
    np.save(os.path.join(OUT, name + "_x.npy"), x_sgdlab)
    np.save(os.path.join(OUT, name + "_y.npy"), y.numpy())
    return float(loss)


def main():
    os.makedirs(OUT, exist_ok=True)
    n = 6
    x = torch.randn(n, 2, 10, 10)  # NCHW
    y = torch.randn(n, 3)
    cnn_loss = record("cnn", CNN(), x, x.permute(0, 2, 3, 1).reshape(n, -1).numpy(), y)
    mlp = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 7), torch.nn.Tanh(),
                              torch.nn.Linear(7, 2))
    xm = torch.randn(n, 5)
    ym = torch.randn(n, 2)
    mlp_loss = record("mlp", mlp, xm, xm.numpy(), ym)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"cnn": {"spec": "cnn:10x10x2-c3k3s2p1-m2s1-c4k3p1-a2-f5-f3:relu", "loss": cnn_loss},
                   "mlp": {"spec": "mlp:5-7-7-2:tanh", "loss": mlp_loss},
                   "torch": torch.__version__}, f, indent=1)


if __name__ == "__main__":
    main()
