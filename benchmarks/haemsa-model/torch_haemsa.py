"""PyTorch reference of the default HAEMSA architecture, for the training-speed benchmark.

The same network and joint loss as `@haemsa/haemsa-model` builds from `ArchitectureSpec.defaultSpec`
on MOSI-shaped data (text 768, audio 5, vision 20, T = 50, sentiment task):

- modality experts (meanpool, one layer): x . W + b per step (text 768->64, audio 5->32,
  vision 20->32), ReLU, masked mean over the valid steps, a dense layer to d_h = 64;
- the unified expert (meanpool, 64): sum_m (x_m . W_m) * keep_m + b with keep_m = step mask x
  modality mask, ReLU, masked mean over the union of the valid steps, dense 64->64;
- hierarchical fusion, depth 2, "evolve": h_l0 = masked mean of the present local experts;
  h_l(i) = dropout(relu(h_l(i-1) W + h_s(i-1) W' + b)) + h_l(i-1), and the shared stream the same
  with its own weights on [h_s(i-1); h_l(i-1)];
- task attention (regression, classification) over [h_t, h_a, h_v, h_s, h_l(1), h_l(2)]: per task
  scores (q_k W_k) . e_j / sqrt(64), softmax over the available experts, z_k = sum_j alpha e_j;
- towers (depth 1, width 64, ReLU, dropout 0.1) to 1 and 7 outputs; unimodal heads 64 -> 1 + 7 on
  each local expert; the teacher head 64 -> 7 on h_s;
- loss: L1 + 0.2 CE(7 classes) + 0.2 CE(teacher) + 0.2 sum_m L1_m(present) + 0.1 sum_m KL_m with
  T = 2 (times T^2), the teacher detached, each modality term a mean over its present samples;
- learned modality gates (text fixed at 1; audio and vision g = sigmoid(10 a), starting at 0.1): they
  scale the unified expert's projections and are prior weights of the local experts in the pool of
  h_l(0) (m g / sum m g) and in the attention (alpha ∝ g exp(score)); `--no-gates` leaves them out;
- Adam (lr 1e-3, eps 1e-7 as tfjs), modality dropout 0.1 (at least one modality kept), batch 32.

Run: `/usr/bin/python3 benchmarks/haemsa-model/torch_haemsa.py [--epochs N] [--threads K]` prints
one JSON object (a warm-up epoch, then N timed ones). `--step-benchmark [--device cuda]
[--batch-sizes 16,32,64] [--steps N]` times single steps per batch size instead (the GPU comparison
of benchmarks/gpu/step.ts). With `--serve` it reads one command per line
from stdin ("epoch" runs and times one training epoch, "infer B N" times N forward passes at batch
B, "stream B K" one stream of K batches of B rows, "quit" ends) and answers one JSON line each,
so a caller can interleave its own epochs with these.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TEXT, AUDIO, VISION = 768, 5, 20
STEPS = 50
SAMPLES = 1284
HIDDEN = 64
CLASSES = 7
GATE_SCALE = 10.0


def glorot_linear(inp, out, bias=True):
    """A linear layer initialised like the tfjs side (Glorot uniform kernel, zero bias)."""
    layer = nn.Linear(inp, out, bias=bias)
    nn.init.xavier_uniform_(layer.weight)
    if bias:
        nn.init.zeros_(layer.bias)
    return layer


def masked_mean(x, mask):
    """(B, T, d), (B, T) -> (B, d): mean over the valid steps (a sample with none gives zeros)."""
    return (x * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)


class Expert(nn.Module):
    """Meanpool expert: first linear map per step, ReLU, masked mean, output dense."""

    def __init__(self, inp, hidden, out):
        super().__init__()
        self.input = glorot_linear(inp, hidden)
        self.output = glorot_linear(hidden, out)

    def forward(self, x, step_mask):
        return self.output(masked_mean(F.relu(self.input(x)), step_mask))


class UnifiedExpert(nn.Module):
    """Meanpool over [x_t; x_a; x_v] as a sum of per-modality projections (no concatenation)."""

    def __init__(self, dims, hidden, out):
        super().__init__()
        self.parts = nn.ModuleList([glorot_linear(d, hidden, bias=False) for d in dims])
        self.bias = nn.Parameter(torch.zeros(hidden))
        self.output = glorot_linear(hidden, out)

    def forward(self, xs, keeps, gates=None):
        projected = self.bias
        for j, (part, x, keep) in enumerate(zip(self.parts, xs, keeps)):
            scale = keep if gates is None else keep * gates[j]
            projected = projected + part(x) * scale.unsqueeze(-1)
        step_mask = torch.stack(keeps, 0).amax(0)
        return self.output(masked_mean(F.relu(projected), step_mask))


class FusionLevel(nn.Module):
    """dropout(relu(a W_a + b W_b + bias)) + a."""

    def __init__(self, d, rate):
        super().__init__()
        self.first = glorot_linear(d, d)
        self.second = glorot_linear(d, d, bias=False)
        self.rate = rate

    def forward(self, a, b):
        y = F.relu(self.first(a) + self.second(b))
        return F.dropout(y, self.rate, self.training) + a


class TaskAttention(nn.Module):
    """Per task k: alpha = softmax_j((q_k W_k) . e_j / sqrt(d)) over the available experts."""

    def __init__(self, tasks, d):
        super().__init__()
        self.query = nn.ParameterList([nn.Parameter(nn.init.xavier_uniform_(torch.empty(1, d))) for _ in range(tasks)])
        self.key = nn.ParameterList([nn.Parameter(nn.init.xavier_uniform_(torch.empty(d, d))) for _ in range(tasks)])
        self.scale = 1 / math.sqrt(d)

    def forward(self, stacked, mask, gates=None):
        rows = torch.cat([q @ k for q, k in zip(self.query, self.key)], 0)  # (K, d)
        logits = (stacked @ rows.t()).transpose(1, 2) * self.scale  # (B, K, J)
        if gates is not None:  # prior weights: alpha ∝ g exp(score)
            logits = logits + torch.log(gates.clamp(min=1e-6))
        available = mask.unsqueeze(1) > 0
        weights = torch.softmax(logits.masked_fill(~available, -1e9), -1) * available
        return weights @ stacked, weights  # (B, K, d), (B, K, J)


class Tower(nn.Module):
    """depth 1: dense + ReLU + dropout, then a linear head."""

    def __init__(self, d, width, out, rate):
        super().__init__()
        self.hidden = glorot_linear(d, width)
        self.head = glorot_linear(width, out)
        self.rate = rate

    def forward(self, x):
        return self.head(F.dropout(F.relu(self.hidden(x)), self.rate, self.training))


class Haemsa(nn.Module):
    """The default HAEMSA network (sentiment task, three modalities)."""

    def __init__(self, d=HIDDEN, depth=2, rate=0.1, gates=True):
        super().__init__()
        # learned modality gates (the default spec's modalityGates: text anchor at 1, audio and vision
        # start at 0.1, g = sigmoid(10 a))
        self.gate_logits = nn.Parameter(torch.full((2,), math.log(0.1 / 0.9) / GATE_SCALE)) if gates else None
        self.local = nn.ModuleList([Expert(TEXT, 64, d), Expert(AUDIO, 32, d), Expert(VISION, 32, d)])
        self.unified = UnifiedExpert([TEXT, AUDIO, VISION], 64, d)
        self.levels = nn.ModuleList([nn.ModuleList([FusionLevel(d, rate), FusionLevel(d, rate)]) for _ in range(depth)])
        self.attention = TaskAttention(2, d)
        self.towers = nn.ModuleList([Tower(d, 64, 1, rate), Tower(d, 64, CLASSES, rate)])
        self.heads = nn.ModuleList([glorot_linear(d, 1 + CLASSES) for _ in range(3)])
        self.teacher = glorot_linear(d, CLASSES)

    def forward(self, xs, step_masks, modality_mask):
        hs = [expert(x, m) for expert, x, m in zip(self.local, xs, step_masks)]
        keeps = [m * modality_mask[:, j : j + 1] for j, m in enumerate(step_masks)]
        gates = None
        if self.gate_logits is not None:
            gates = torch.cat([torch.ones(1, device=modality_mask.device), torch.sigmoid(GATE_SCALE * self.gate_logits)])
        shared = self.unified(xs, keeps, gates)
        # h_l(0): masked mean of the present local experts (gated: weights m g / sum m g)
        if gates is None:
            weights = modality_mask / modality_mask.sum(1, keepdim=True).clamp(min=1)
        else:
            w = modality_mask * gates.clamp(min=1e-6)
            weights = w / w.sum(1, keepdim=True).clamp(min=1e-12)
        hl = (torch.stack(hs, 1) * weights.unsqueeze(-1)).sum(1)
        hsh = shared
        levels = []
        for local_level, shared_level in self.levels:
            hl, hsh = local_level(hl, hsh), shared_level(hsh, hl)
            levels.append(hl)
        experts = torch.stack(hs + [shared] + levels, 1)  # (B, J, d)
        mask = torch.cat([modality_mask, torch.ones(modality_mask.shape[0], 1 + len(levels), device=modality_mask.device)], 1)
        attention_gates = None if gates is None else torch.cat([gates, torch.ones(1 + len(levels), device=gates.device)])
        z, attention = self.attention(experts, mask, attention_gates)
        regression = self.towers[0](z[:, 0]).reshape(-1)
        class_logits = self.towers[1](z[:, 1])
        unimodal = [head(h) for head, h in zip(self.heads, hs)]
        return regression, class_logits, unimodal, self.teacher(shared), attention


def weighted_mean(values, weights):
    """sum(w v) / sum(w), 0 when no weight."""
    total = weights.sum()
    return (values * weights).sum() / torch.where(total != 0, total, torch.ones_like(total))


def joint_loss(out, y, classes, modality_mask, temperature=2.0, gamma=0.1, lambdas=(1.0, 0.2, 0.2)):
    regression, class_logits, unimodal, teacher, _ = out
    loss = lambdas[0] * (regression - y).abs().mean()
    loss = loss + lambdas[1] * F.cross_entropy(class_logits, classes)
    loss = loss + max(lambdas[1], 0.1) * F.cross_entropy(teacher, classes)
    log_p = F.log_softmax(teacher.detach() / temperature, 1)
    p = log_p.exp()
    kl = 0.0
    for j, head in enumerate(unimodal):
        present = modality_mask[:, j]
        loss = loss + lambdas[2] * weighted_mean((head[:, 0] - y).abs(), present)
        logits = head[:, 1:].masked_fill(present.unsqueeze(1) == 0, 0.0)
        log_q = F.log_softmax(logits / temperature, 1)
        rows = (p * (log_p - log_q)).sum(1) * temperature**2
        kl = kl + weighted_mean(rows, present)
    return loss + gamma * kl


class Data:
    """Random MOSI-shaped training data (seeded): features, valid lengths, labels, class ids."""

    def __init__(self, seed=0, n=SAMPLES):
        rng = np.random.default_rng(seed)
        lengths = rng.integers(math.ceil(STEPS / 2), STEPS + 1, n)
        valid = (np.arange(STEPS)[None, :] < lengths[:, None]).astype(np.float32)
        self.x = [torch.from_numpy((rng.standard_normal((n, STEPS, d), dtype=np.float32) * valid[:, :, None])) for d in (TEXT, AUDIO, VISION)]
        self.step_mask = torch.from_numpy(valid)
        y = np.round(rng.uniform(-3, 3, n) * 5) / 5
        self.y = torch.from_numpy(y.astype(np.float32))
        self.classes = torch.from_numpy((np.round(np.clip(y, -3, 3)) + 3).astype(np.int64))
        self.n = n


def modality_dropout(n, p, rng):
    """(n, 3) masks: each modality dropped with probability p, at least one kept per sample."""
    mask = np.ones((n, 3), dtype=np.float32)
    for i in range(n):
        dropped = [m for m in range(3) if rng.random() < p]
        for m in dropped[1:] if len(dropped) == 3 else dropped:
            mask[i, m] = 0
    return mask


class Trainer:
    def __init__(self, seed=0, batch_size=32, gates=True):
        torch.manual_seed(seed)
        self.data = Data(seed)
        self.model = Haemsa(gates=gates)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3, eps=1e-7)
        self.rng = np.random.default_rng(seed + 1)
        self.batch_size = batch_size

    def epoch(self):
        """One training epoch; returns (wall seconds, CPU seconds of the process, steps, mean loss)."""
        self.model.train()
        d = self.data
        start = time.perf_counter()
        cpu = time.process_time()
        order = torch.from_numpy(self.rng.permutation(d.n))
        total, steps = 0.0, 0
        for begin in range(0, d.n, self.batch_size):
            idx = order[begin : begin + self.batch_size]
            b = idx.shape[0]
            modality_mask = torch.from_numpy(modality_dropout(b, 0.1, self.rng))
            step_mask = d.step_mask[idx]
            step_masks = [step_mask * modality_mask[:, j : j + 1] for j in range(3)]
            xs = [x[idx] for x in d.x]
            out = self.model(xs, step_masks, modality_mask)
            loss = joint_loss(out, d.y[idx], d.classes[idx], modality_mask)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total += loss.item() * b
            steps += 1
        return time.perf_counter() - start, time.process_time() - cpu, steps, total / d.n


    def infer(self, batch_size, calls):
        """Latency of `calls` forward passes in evaluation mode (no gradient) at `batch_size`, each
        one's regression output read back (`.tolist()`); returns the per-call seconds."""
        self.model.eval()
        d = self.data
        modality_mask = torch.ones(batch_size, 3)
        batches = []
        for k in range(4):
            idx = torch.arange(k * batch_size, (k + 1) * batch_size) % d.n
            step_mask = d.step_mask[idx]
            batches.append(([x[idx] for x in d.x], [step_mask for _ in range(3)]))
        times = []
        with torch.inference_mode():
            for i in range(10 + calls):
                xs, step_masks = batches[i % 4]
                start = time.perf_counter()
                self.model(xs, step_masks, modality_mask)[0].tolist()
                if i >= 10:
                    times.append(time.perf_counter() - start)
        return times


    def stream(self, batch_size, batches):
        """Seconds of one stream of `batches` eval-mode forward passes at `batch_size` (no gradient):
        rows k * batch_size ... of the data, each batch gathered from them by its row indices (as the
        tfjs side makes its batches from rows), its regression output read back (`.tolist()`)."""
        self.model.eval()
        d = self.data
        modality_mask = torch.ones(batch_size, 3)
        rows = [torch.arange(k * batch_size, (k + 1) * batch_size) % d.n for k in range(batches)]
        with torch.inference_mode():
            start = time.perf_counter()
            for idx in rows:
                step_mask = d.step_mask[idx]
                self.model([x[idx] for x in d.x], [step_mask for _ in range(3)], modality_mask)[0].tolist()
            return time.perf_counter() - start


def step_benchmark(batch_sizes, steps, device, seed=0, gates=True):
    """Median ms of one training step per batch size, with two pre-made batches on `device` (as
    benchmarks/gpu/step.ts does on the tfjs side); each step ends with loss.item() (a sync)."""
    torch.manual_seed(seed)
    data = Data(seed)
    rng = np.random.default_rng(seed + 1)
    out = []
    for batch_size in batch_sizes:
        model = Haemsa(gates=gates).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
        model.train()
        batches = []
        for k in range(2):
            idx = torch.arange(k * batch_size, (k + 1) * batch_size) % data.n
            modality_mask = torch.from_numpy(modality_dropout(batch_size, 0.1, rng)).to(device)
            step_mask = data.step_mask[idx].to(device)
            step_masks = [step_mask * modality_mask[:, j : j + 1] for j in range(3)]
            batches.append(([x[idx].to(device) for x in data.x], step_masks, modality_mask, data.y[idx].to(device), data.classes[idx].to(device)))

        def step(batch):
            xs, step_masks, modality_mask, y, classes = batch
            loss = joint_loss(model(xs, step_masks, modality_mask), y, classes, modality_mask)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            return loss.item()

        for i in range(5):
            step(batches[i % 2])
        times = []
        for i in range(steps):
            start = time.perf_counter()
            step(batches[i % 2])
            times.append(1000 * (time.perf_counter() - start))
        median = float(np.median(times))
        out.append({"batchSize": batch_size, "medianMs": median, "p10Ms": float(np.percentile(times, 10)), "p90Ms": float(np.percentile(times, 90)), "samplesPerSecond": 1000 * batch_size / median})
        print(f"B {batch_size:4d}: {median:.2f} ms/step, {1000 * batch_size / median:.0f} samples/s", file=sys.stderr, flush=True)
    return out


def blas_library():
    """The BLAS library this process resolved, read from its memory map after a matrix product.

    Returns {"path": the real file, "kind": "openblas" | "mkl" | "blis" | "reference" | "unknown"}.
    Debian's python3-torch calls the generic libblas.so.3, which the alternatives system points at
    the netlib reference BLAS unless OpenBLAS (libopenblas0-pthread) or another one is installed.
    """
    a = torch.ones(64, 64)
    (a @ a).sum().item()
    found = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split()
                if len(fields) >= 6 and ("blas" in fields[5].lower() or "mkl" in fields[5].lower()):
                    found.append(os.path.realpath(fields[5]))
    except OSError:
        return {"path": None, "kind": "unknown"}
    names = sorted(set(found))
    for kind, key in (("mkl", "mkl"), ("openblas", "openblas"), ("blis", "blis")):
        for name in names:
            if key in os.path.basename(name).lower() or key in name.lower():
                return {"path": name, "kind": kind}
    for name in names:
        if os.path.basename(name).startswith("libblas.so") and "/blas/" in name:
            return {"path": name, "kind": "reference"}
    return {"path": names[0] if names else None, "kind": "unknown"}


def blas_threads(blas):
    """The number of threads the resolved BLAS library runs a product on (OpenBLAS:
    `openblas_get_num_threads`, MKL: `mkl_get_max_threads`), or None when it cannot say. OpenBLAS's
    pthread build runs its own threads beside torch's: with both at the core count they contend for
    the cores (set OPENBLAS_NUM_THREADS before the process starts to change it)."""
    if not blas.get("path"):
        return None
    try:
        import ctypes

        library = ctypes.CDLL(blas["path"])
        for name in ("openblas_get_num_threads", "mkl_get_max_threads"):
            if hasattr(library, name):
                return int(getattr(library, name)())
    except OSError:
        return None
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs after one warm-up epoch")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch.set_num_threads (default: cores)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--serve", action="store_true", help="answer 'epoch' commands on stdin, one JSON line each")
    parser.add_argument("--step-benchmark", action="store_true", help="time single training steps per batch size instead of epochs")
    parser.add_argument("--batch-sizes", default="16,32,64,128,256", help="batch sizes of --step-benchmark")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per batch size of --step-benchmark")
    parser.add_argument("--device", default="cpu", help="torch device of --step-benchmark (cpu, cuda)")
    parser.add_argument("--no-gates", action="store_true", help="without the learned modality gates (the default spec before they were added)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.step_benchmark:
        if args.device.startswith("cuda") and not torch.cuda.is_available():
            print(json.dumps({"error": "torch.cuda.is_available() is False", "torch": torch.__version__}))
            sys.exit(2)
        figures = step_benchmark([int(b) for b in args.batch_sizes.split(",")], args.steps, torch.device(args.device), gates=not args.no_gates)
        name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"
        print(json.dumps({"torch": torch.__version__, "device": args.device, "deviceName": name, "threads": torch.get_num_threads(), "figures": figures}))
        return
    trainer = Trainer(args.seed, gates=not args.no_gates)
    blas = blas_library()
    info = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas_threads": blas_threads(blas), "cores": os.cpu_count(), "parameters": sum(p.numel() for p in trainer.model.parameters()), "blas": blas}
    if args.serve:
        print(json.dumps({"ready": True, **info}), flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "quit":
                break
            if command == "epoch":
                seconds, cpu, steps, loss = trainer.epoch()
                print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "steps": steps, "loss": loss}), flush=True)
            elif command.startswith("infer "):
                _, batch_size, calls = command.split()
                print(json.dumps({"seconds": trainer.infer(int(batch_size), int(calls))}), flush=True)
            elif command.startswith("stream "):
                _, batch_size, batches = command.split()
                print(json.dumps({"seconds": trainer.stream(int(batch_size), int(batches))}), flush=True)
        return
    trainer.epoch()
    seconds, cpu = [], []
    for _ in range(args.epochs):
        s, c, steps, loss = trainer.epoch()
        seconds.append(s)
        cpu.append(c)
    median = float(np.median(seconds))
    print(json.dumps({**info, "epochs": seconds, "cpu_seconds": cpu, "median_s": median, "median_cpu_s": float(np.median(cpu)), "steps": steps, "per_step_ms": 1000 * median / steps, "loss": loss}))


if __name__ == "__main__":
    main()
