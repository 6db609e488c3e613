import os, sys, time, statistics, json, resource
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures"))
import torch
from segnet_mtan_reference import SegNetMTAN, mtan_losses
threads=int(sys.argv[1]); steps=int(sys.argv[2])
torch.set_num_threads(threads); torch.manual_seed(0)
net=SegNetMTAN(class_nb=13)
x=torch.rand(2,3,96,128); label=torch.randint(0,13,(2,96,128)); depth=torch.rand(2,1,96,128)+0.5
normal=torch.randn(2,3,96,128); normal=normal/normal.norm(dim=1,keepdim=True)
opt=torch.optim.Adam(net.parameters(),lr=1e-4)
def step():
    net.train(); opt.zero_grad(); pred,_=net(x); loss=sum(mtan_losses(pred,label,depth,normal)); loss.backward(); opt.step()
step()
ts=[]; cs=[]
for _ in range(steps):
    t0=time.perf_counter(); c0=time.process_time(); step(); ts.append((time.perf_counter()-t0)*1000); cs.append((time.process_time()-c0)*1000)
print(f"torch threads {threads} median {statistics.median(ts):.0f} ms wall, cpu {statistics.median(cs):.0f} ms; all {[round(t) for t in ts]}; rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f} MB")
