"""PyTorch 1.13 side of `Astmt.Bench train-step/forward --reference pytorch`: builds the same model (same parameter count, printed
and checked by the caller), the same input shapes, losses and optimizer, and times one training step (or eval forward) per request.
Debian's python3-torch (oneDNN) with libopenblas0-pthread; run with /usr/bin/python3.

Two modes:
  one-shot: times --warmup + --steps runs and prints one JSON object.
    /usr/bin/python3 Tools/bench/pytorch_reference.py train-step --model mtan-segnet --batch 2 --height 96 --width 128 --steps 5 --threads 2
  serve:    what Astmt.Bench uses so runs alternate with ours in the same invocation. Prints one JSON line
            {"ready": true, "parameters": N, ...}; then for each stdin line "run" it runs one step and answers {"ms": t};
            (its own clock: perf_counter, or thread_time with --clock thread-cpu; plus "cpu_ms", the process CPU time of all its
            threads); "stats" answers {"peak_rss_mb": m}; "quit" (or end of input) exits.
    /usr/bin/python3 Tools/bench/pytorch_reference.py train-step --model mtan-segnet ... --serve

Models: mtan-segnet, stan, segnet-single, segnet-split, segnet-split-wide, segnet-split-deep, segnet-dense, segnet-cross-stitch
(MTAN family, NYUv2 tasks: 13-class semantic, depth, normal; Adam lr 1e-4, the three losses with equal weights), and
astmt-r26/-r50/-r101 (ASTMT on the synthetic task set given by --astmt-tasks; one iteration = for each task: forward, weighted
task loss, create-graph gradient at the decoder features, L2-normalise, gradient reversal, discriminator CE, 0.99/0.01 total,
backward, SGD step (momentum 0.9, weight decay 1e-4); eval forward runs every task).
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

MTAN_NAMES = ["mtan-segnet", "stan", "segnet-single", "segnet-split", "segnet-split-wide", "segnet-split-deep", "segnet-dense",
              "segnet-cross-stitch"]
ASTMT_BLOCKS = {"astmt-r26": (2, 2, 2, 2), "astmt-r50": (3, 4, 6, 3), "astmt-r101": (3, 4, 23, 3)}
STANDARD = [64, 128, 256, 512, 512]
WIDE = [64, 128, 256, 512, 1024]


def build_mtan(name, classes):
    from segnet_mtan_reference import SegNetMTAN
    import segnet_baselines_reference as b
    if name == "mtan-segnet":
        return SegNetMTAN(STANDARD, class_nb=classes)
    if name == "stan":
        return b.SegNetSTAN(STANDARD, "semantic", class_nb=classes)
    if name == "segnet-single":
        return b.SegNetSingle(STANDARD, "semantic", class_nb=classes)
    if name == "segnet-split":
        return b.SegNetSplit(STANDARD, class_nb=classes)
    if name == "segnet-split-wide":
        return b.SegNetSplit(WIDE, class_nb=classes)
    if name == "segnet-split-deep":
        return b.SegNetSplit(STANDARD, deep=True, class_nb=classes)
    if name == "segnet-dense":
        return b.SegNetDense(STANDARD, class_nb=classes)
    if name == "segnet-cross-stitch":
        return b.SegNetCross(STANDARD, class_nb=classes)
    raise SystemExit(f"pytorch_reference: unknown MTAN model '{name}'")


def mtan_workload(a):
    from segnet_mtan_reference import mtan_losses
    net = build_mtan(a.model, a.classes)
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
        if len(pred) == 3:
            loss = sum(mtan_losses(pred, label, depth, normal))
        else:  # single-task networks (semantic)
            loss = F.nll_loss(pred[0], label, ignore_index=-1)
        loss.backward()
        opt.step()

    def forward():
        net.eval()
        with torch.no_grad():
            net(x)

    return net, train_step, forward


def parse_tasks(spec):
    """name:outputs:weight:kind,... as Astmt.Bench passes it (kind: edge, sal, ce, normals, depth)."""
    tasks = []
    for item in spec.split(","):
        name, outputs, weight, kind = item.split(":")
        tasks.append((name, int(outputs), float(weight), kind))
    return tasks


def balanced_bce(logits, gt, w):
    labels = (gt >= 0.5).float()
    if w is None:
        w = (labels.numel() - labels.sum().item()) / labels.numel()
    weights = labels * (2 * w - 1) + (1 - w)
    return F.binary_cross_entropy_with_logits(logits, labels, weights, reduction="sum") / logits.numel()


SOBEL = torch.tensor([[1., 0, -1, 2, 0, -2, 1, 0, -1], [1., 2, 1, 0, 0, 0, -1, -2, -1]]).reshape(2, 1, 3, 3)


def depth_loss(out, gt):
    mask = (gt != 255).float()
    g = gt * mask
    valid = max(mask.sum().item(), 1e-6)
    l1 = (torch.abs(out - g) * mask).sum() / valid
    grad = torch.abs(F.conv2d(out, SOBEL, padding=1) - F.conv2d(g, SOBEL, padding=1)).sum() / valid
    return l1 + grad


def astmt_workload(a):
    from astmt_reference import ASTMT, GradReverse, normals_loss, semseg_loss
    tasks = parse_tasks(a.astmt_tasks)
    names = [t[0] for t in tasks]
    net = ASTMT(names, {t[0]: t[1] for t in tasks}, blocks=ASTMT_BLOCKS[a.model], width_div=1, dec_w=64, dscr_k=1)
    x = torch.rand(a.batch, 3, a.height, a.width) * 255
    gts = {}
    for name, outputs, _, kind in tasks:
        if kind in ("edge", "sal"):
            gts[name] = (torch.rand(a.batch, 1, a.height, a.width) > 0.8).float()
        elif kind == "ce":
            gts[name] = torch.randint(0, outputs, (a.batch, 1, a.height, a.width)).float()
        elif kind == "normals":
            n = torch.randn(a.batch, 3, a.height, a.width)
            gts[name] = n / n.norm(dim=1, keepdim=True)
        else:
            gts[name] = torch.rand(a.batch, 1, a.height, a.width) + 0.5

    def loss_of(kind, pred, gt):
        if kind == "edge":
            return balanced_bce(pred, gt, 0.95)
        if kind == "sal":
            return balanced_bce(pred, gt, None)
        if kind == "ce":
            return semseg_loss(pred, gt)
        if kind == "normals":
            return normals_loss(pred, gt)
        return depth_loss(pred, gt)

    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)
    alpha = 0.5

    def train_step():
        net.train()
        for ti, (task, _, weight, kind) in enumerate(tasks):
            opt.zero_grad(set_to_none=True)
            pred, features = net(x, task)
            task_loss = weight * loss_of(kind, pred, gts[task])
            g = torch.autograd.grad(task_loss, features, create_graph=True)[0]
            g = g / (g.norm(p=2, dim=1, keepdim=True) + 1e-10)
            logits = net.discriminator(GradReverse.apply(g, alpha))
            labels = F.interpolate(gts[task][:, :1], size=features.shape[2:], mode="nearest")
            labels[labels != 255] = ti
            dscr_loss = F.cross_entropy(logits, labels[:, 0].long(), ignore_index=255)
            (0.99 * task_loss + 0.01 * dscr_loss).backward()
            opt.step()

    def forward():
        net.eval()
        with torch.no_grad():
            for task in names:
                net(x, task)

    return net, train_step, forward


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["train-step", "forward"])
    ap.add_argument("--model", default="mtan-segnet", choices=MTAN_NAMES + list(ASTMT_BLOCKS))
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--height", type=int, default=96)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--classes", type=int, default=13)
    ap.add_argument("--astmt-tasks", default="edge:1:50:edge,semseg:13:1:ce,human_parts:7:2:ce,normals:3:10:normals,sal:1:5:sal,depth:1:1:depth")
    ap.add_argument("--clock", choices=["wall", "thread-cpu"], default="wall",
                    help="thread-cpu: CPU time of the main thread (with --threads 1 all work runs there; fair on a loaded machine)")
    ap.add_argument("--profile", action="store_true",
                    help="one-shot mode: also print torch.autograd.profiler's self CPU time per op over the timed steps")
    ap.add_argument("--serve", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net, train_step, forward = (astmt_workload if a.model in ASTMT_BLOCKS else mtan_workload)(a)
    params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    step = train_step if a.command == "train-step" else forward
    info = {"engine": f"pytorch {torch.__version__}", "model": a.model, "parameters": params, "threads": torch.get_num_threads(),
            "mkldnn": torch.backends.mkldnn.is_available()}

    def rss():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    clock = time.perf_counter if a.clock == "wall" else time.thread_time
    if a.clock == "thread-cpu" and a.threads != 1:
        raise SystemExit("pytorch_reference: --clock thread-cpu needs --threads 1")

    if a.serve:
        print(json.dumps(dict(info, ready=True)), flush=True)
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "run":
                c0, t0 = time.process_time(), clock()
                step()
                t1, c1 = clock(), time.process_time()
                print(json.dumps({"ms": (t1 - t0) * 1000, "cpu_ms": (c1 - c0) * 1000}), flush=True)
            elif cmd == "stats":
                print(json.dumps({"peak_rss_mb": rss()}), flush=True)
            elif cmd == "quit":
                break
            else:
                print(json.dumps({"error": f"unknown request '{cmd}'"}), flush=True)
        return

    for _ in range(a.warmup):
        step()
    times = []
    profiler = torch.autograd.profiler.profile() if a.profile else None
    if profiler is not None:
        profiler.__enter__()
    for _ in range(a.steps):
        t0 = clock()
        step()
        times.append((clock() - t0) * 1000)
    if profiler is not None:
        profiler.__exit__(None, None, None)
        print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=25), file=sys.stderr)
    print(json.dumps(dict(info, ms_per_step=statistics.median(times), ms_all=times, peak_rss_mb=rss())))


if __name__ == "__main__":
    main()
