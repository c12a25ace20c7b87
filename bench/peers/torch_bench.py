"""PyTorch peer for sgdlab's benchmark workloads 1-3 (CPU, 2 threads).

Written the way a competent user would: nn.Sequential MLP, torch.func (functorch) vmap for
per-sample gradients, double-backward Hessian-vector products, Lanczos with full
re-orthogonalisation in torch. Prints one JSON object per workload.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

from common import best_of, mnist_parity

torch.set_num_threads(2)
F = torch.nn.functional
DATA = os.environ.get("SGDLAB_BENCH_DATA", "bench/out/data")

try:
    from torch.func import functional_call, grad, vmap
except ImportError:  # torch 1.13 ships functorch separately
    from functorch import grad, vmap

    functional_call = None
from functorch import make_functional


def mlp(dtype):
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.ReLU(), torch.nn.Linear(100, 100), torch.nn.ReLU(),
                              torch.nn.Linear(100, 1))
    for m in net:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            torch.nn.init.zeros_(m.bias)
    return net.to(dtype)


def loss_fn(out, y):
    return 0.5 * ((out.squeeze(-1) - y) ** 2).mean()


def w1_sgd_epoch(dtype):
    x, y = mnist_parity(10000)
    X, Y = torch.tensor(x, dtype=dtype), torch.tensor(y, dtype=dtype)
    net = mlp(dtype)
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(2)

    def epoch():
        perm = torch.randperm(10000, generator=g)
        for i in range(0, 10000, 100):
            idx = perm[i : i + 100]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(X[idx]), Y[idx]).backward()
            opt.step()

    return best_of(epoch, repeat=3, min_time=1.0)


def w2_per_sample_gram(dtype):
    x, y = mnist_parity(2000)
    X, Y = torch.tensor(x, dtype=dtype), torch.tensor(y, dtype=dtype)
    net = mlp(dtype)
    if functional_call is not None:
        params = {k: v.detach() for k, v in net.named_parameters()}

        def sample_loss(p, xi, yi):
            out = functional_call(net, p, (xi.unsqueeze(0),))
            return 0.5 * ((out.squeeze() - yi) ** 2)

        def run():
            gs = vmap(grad(sample_loss), in_dims=(None, 0, 0))(params, X, Y)
            J = torch.cat([v.reshape(2000, -1) for v in gs.values()], dim=1)
            return J @ J.T
    else:
        fmodel, p = make_functional(net)

        def sample_loss(p, xi, yi):
            out = fmodel(p, xi.unsqueeze(0))
            return 0.5 * ((out.squeeze() - yi) ** 2)

        def run():
            gs = vmap(grad(sample_loss), in_dims=(None, 0, 0))(p, X, Y)
            J = torch.cat([v.reshape(2000, -1) for v in gs], dim=1)
            return J @ J.T

    return best_of(run, repeat=2, min_time=1.0)


def hvp_setup(dtype):
    x, y = mnist_parity(10000)
    X, Y = torch.tensor(x, dtype=dtype), torch.tensor(y, dtype=dtype)
    net = mlp(dtype)
    params = [p for p in net.parameters()]

    def hvp(v):
        loss = loss_fn(net(X), Y)
        gs = torch.autograd.grad(loss, params, create_graph=True)
        flat = torch.cat([g.reshape(-1) for g in gs])
        hv = torch.autograd.grad(flat @ v, params)
        return torch.cat([h.reshape(-1) for h in hv])

    n = sum(p.numel() for p in params)
    return hvp, n


def w3_hvp(dtype):
    hvp, n = hvp_setup(dtype)
    v = torch.ones(n, dtype=dtype)
    return best_of(lambda: hvp(v), repeat=3, min_time=1.0)


def w3_lanczos(dtype, k=10, steps=100):
    """Lanczos with full re-orthogonalisation, `steps` Hessian-vector products (sgdlab's
    benchmark uses the same count), top-k Ritz values."""
    hvp, n = hvp_setup(dtype)
    gen = torch.Generator().manual_seed(3)

    def run():
        q = torch.randn(n, generator=gen, dtype=dtype)
        q /= q.norm()
        Q = [q]
        alpha, beta = [], []
        for j in range(steps):
            w = hvp(Q[j])
            a = torch.dot(Q[j], w)
            alpha.append(a.item())
            Qm = torch.stack(Q)
            for _ in range(2):
                w = w - Qm.T @ (Qm @ w)
            b = w.norm()
            beta.append(b.item())
            Q.append(w / b)
        T = np.diag(alpha) + np.diag(beta[:-1], 1) + np.diag(beta[:-1], -1)
        return np.linalg.eigvalsh(T)[-k:]

    return best_of(run, repeat=1, min_time=0.0)


class CNN(torch.nn.Module):
    """E3's quick CNN: 3x[conv3x3 4] max-pool 3x[8] max-pool 3x[16] max-pool, ReLU, 10 outputs;
    sgdlab's cnn:28x28x1-c4k3p1-c4k3p1-c4k3p1-m2-c8k3p1-...-m2-f10:relu."""

    def __init__(self):
        super().__init__()
        chans = [1, 4, 4, 4, 8, 8, 8, 16, 16, 16]
        self.convs = torch.nn.ModuleList(torch.nn.Conv2d(chans[i], chans[i + 1], 3, padding=1) for i in range(9))
        self.fc = torch.nn.Linear(16 * 3 * 3, 10)

    def forward(self, x):
        for i, c in enumerate(self.convs):
            x = torch.relu(c(x))
            if i % 3 == 2:
                x = F.max_pool2d(x, 2)
        return self.fc(torch.flatten(x, 1))


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for k, e in header.items():
        if k == "__metadata__":
            continue
        a, b = e["data_offsets"]
        out[k] = np.frombuffer(blob[a:b], dtype="<f8").reshape(e["shape"])
    return out


def cnn_setup(dtype):
    """sgdlab's data and initial weights (written by bench/workloads -data); sgdlab's names
    conv1..conv9, fc1 map to the modules in order."""
    x = np.load(os.path.join(DATA, "cnn_x.npy"))
    y = np.load(os.path.join(DATA, "cnn_y.npy"))
    n = x.shape[0]
    X = torch.tensor(x, dtype=dtype).reshape(n, 28, 28, 1).permute(0, 3, 1, 2).contiguous()
    Y = torch.tensor(y, dtype=dtype)
    w = read_safetensors(os.path.join(DATA, "cnn.safetensors"))
    net = CNN().to(dtype)
    with torch.no_grad():
        for i, c in enumerate(net.convs):
            c.weight.copy_(torch.tensor(w["conv%d.weight" % (i + 1)]))
            c.bias.copy_(torch.tensor(w["conv%d.bias" % (i + 1)]))
        net.fc.weight.copy_(torch.tensor(w["fc1.weight"]))
        net.fc.bias.copy_(torch.tensor(w["fc1.bias"]))
    return net, X, Y


def w6_cnn_per_sample_gram(dtype):
    net, X, Y = cnn_setup(dtype)
    n = X.shape[0]
    fmodel, p = make_functional(net)

    def sample_loss(p, xi, yi):
        out = fmodel(p, xi.unsqueeze(0))
        return 0.5 * ((out.squeeze(0) - yi) ** 2).sum()

    def run():
        gs = vmap(grad(sample_loss), in_dims=(None, 0, 0))(p, X, Y)
        J = torch.cat([v.reshape(n, -1) for v in gs], dim=1)
        return J @ J.T

    return best_of(run, repeat=2, min_time=1.0)


def w6_cnn_hvp(dtype):
    net, X, Y = cnn_setup(dtype)
    params = list(net.parameters())
    v = [torch.ones_like(p) for p in params]

    def run():
        loss = 0.5 * ((net(X) - Y) ** 2).sum(dim=1).mean()
        gs = torch.autograd.grad(loss, params, create_graph=True)
        return torch.autograd.grad(sum((g * vi).sum() for g, vi in zip(gs, v)), params)

    return best_of(run, repeat=3, min_time=1.0)


WORKLOADS = {
    "w6_cnn_per_sample_gram": w6_cnn_per_sample_gram,
    "w6_cnn_hvp": w6_cnn_hvp,
    "w1_sgd_epoch": w1_sgd_epoch,
    "w2_per_sample_gram": w2_per_sample_gram,
    "w3_hvp": w3_hvp,
    "w3_lanczos_top10": w3_lanczos,
}

if __name__ == "__main__":
    names = sys.argv[1:] or list(WORKLOADS)
    for name in names:
        for dt, label in ((torch.float64, "float64"), (torch.float32, "float32")):
            t = WORKLOADS[name](dt)
            print(json.dumps({"peer": "pytorch-" + label, "workload": name, "seconds": t,
                              "torch": torch.__version__}), flush=True)
