"""PyTorch 1.13 side of `Astmt.Bench --reference pytorch`: times the same SegNet-MTAN step (or eval forward) with the same
shapes and optimizer, and prints one JSON object. Debian's python3-torch (oneDNN) with libopenblas0-pthread.

  /usr/bin/python3 Tools/bench/pytorch_reference.py train-step --batch 2 --height 96 --width 128 --steps 5 --warmup 1 --threads 2
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))

import torch  # noqa: E402

from segnet_mtan_reference import SegNetMTAN, mtan_losses  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["train-step", "forward"])
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--height", type=int, default=96)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--classes", type=int, default=13)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = SegNetMTAN(class_nb=a.classes)
    params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    x = torch.rand(a.batch, 3, a.height, a.width)
    label = torch.randint(0, a.classes, (a.batch, a.height, a.width))
    depth = torch.rand(a.batch, 1, a.height, a.width) + 0.5
    normal = torch.randn(a.batch, 3, a.height, a.width)
    normal = normal / normal.norm(dim=1, keepdim=True)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)

    def train_step():
        net.train()
        opt.zero_grad()
        pred, _ = net(x)
        loss = sum(mtan_losses(pred, label, depth, normal))
        loss.backward()
        opt.step()

    def forward():
        net.eval()
        with torch.no_grad():
            net(x)

    step = train_step if a.command == "train-step" else forward
    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({
        "engine": f"pytorch {torch.__version__}",
        "parameters": params,
        "ms_per_step": statistics.median(times),
        "ms_all": times,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": a.threads,
    }))


if __name__ == "__main__":
    main()
