import re, sys
def load(path):
    d = {}; head = {}
    for line in open(path):
        m = re.match(r"^(\S.*?|\s\s\S+)\s+([\d.]+) ms\s+x(\d+)", line)
        if m: d[m.group(1).strip()] = float(m.group(2))
        m = re.match(r"median process cpu (\d+)", line)
        if m: head['cpu'] = float(m.group(1))
        m = re.search(r"fwd ([\d.]+) bwd ([\d.]+) adam ([\d.]+)", line)
        if m and line.startswith("threads"): head['adam_wall'] = float(m.group(3))
        m = re.search(r"VmHWM:\s+(\d+)", line)
        if m: head['hwm'] = int(m.group(1)) / 1024
        m = re.search(r"rss (\d+) MB", line)
        if m: head['rss'] = int(m.group(1))
    return d, head
phases = [
  ("conv fwd GEMM+bias (excl. im2col)", lambda d: d.get("fwd:conv2d",0) - share(d,"im2col",'f')),
  ("conv bwd data+weight GEMM (excl. im2col/col2im)", lambda d: d.get("bwd:conv2d",0) - share(d,"im2col",'b') - d.get("col2im",0)),
  ("im2col (fwd + bwd-weight)", lambda d: d.get("im2col",0)),
  ("col2im (bwd-data)", lambda d: d.get("col2im",0)),
  ("BN / BN+ReLU fwd", lambda d: sum(v for k,v in d.items() if k.startswith("fwd:batch_norm") or k=="fwd:relu")),
  ("BN / BN+ReLU bwd", lambda d: sum(v for k,v in d.items() if k.startswith("bwd:batch_norm") or k=="bwd:relu")),
  ("attention gate fwd (1x1 conv, BN, sigmoid, mul)", lambda d: d.get("fwd:attention_gate",0) + d.get("fwd:sigmoid",0) + d.get("fwd:mul",0)),
  ("attention gate bwd", lambda d: d.get("bwd:attention_gate",0) + d.get("bwd:sigmoid",0) + d.get("bwd:mul",0)),
  ("pool/unpool fwd+bwd", lambda d: sum(v for k,v in d.items() if "pool" in k)),
  ("bilinear resize fwd+bwd", lambda d: sum(v for k,v in d.items() if "interpolate" in k)),
  ("cat fwd+bwd", lambda d: sum(v for k,v in d.items() if k.endswith(":cat"))),
  ("heads/losses/other ops", None),
]
def share(d, k, which):
    # im2col is split between forward and backward-weight in proportion to call counts (1:1 for 3x3 convs)
    return d.get(k,0)/2
files = sys.argv[1:]
rows = []
datas = [load(f) for f in files]
print("| phase | " + " | ".join(files) + " |")
print("|---|" + "---|"*len(files))
for name, fn in phases:
    vals = []
    for d, h in datas:
        if fn is None:
            known = sum(v for k,v in d.items() if k not in ('im2col','col2im'))
            listed = sum(v for k,v in d.items() if k not in ('im2col','col2im') and (k.endswith((":conv2d", ":relu", ":sigmoid", ":mul", ":cat", ":attention_gate")) or "batch_norm" in k or "pool" in k or "interpolate" in k))
            vals.append(known - listed)
        else: vals.append(fn(d))
    print(f"| {name} | " + " | ".join(f"{v:.0f}" for v in vals) + " |")
print("| sum of op times | " + " | ".join(f"{sum(v for k,v in d.items() if k not in ('im2col','col2im')):.0f}" for d,h in datas) + " |")
print("| process CPU per step (median) | " + " | ".join(f"{h.get('cpu',0):.0f}" for d,h in datas) + " |")
print("| peak RSS MB | " + " | ".join(f"{h.get('hwm', h.get('rss',0)):.0f}" for d,h in datas) + " |")
