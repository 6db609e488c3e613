import sys, os, time, statistics
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures"))
import torch
from segnet_mtan_reference import SegNetMTAN, mtan_losses
threads=int(sys.argv[1]) if len(sys.argv)>1 else 2
torch.set_num_threads(threads); torch.manual_seed(0)
net=SegNetMTAN(class_nb=13)
x=torch.rand(2,3,96,128); label=torch.randint(0,13,(2,96,128)); depth=torch.rand(2,1,96,128)+0.5
normal=torch.randn(2,3,96,128); normal=normal/normal.norm(dim=1,keepdim=True)
opt=torch.optim.Adam(net.parameters(),lr=1e-4)
def step():
    net.train(); opt.zero_grad(); pred,_=net(x); loss=sum(mtan_losses(pred,label,depth,normal)); loss.backward(); opt.step()
for _ in range(2): step()
ts=[]
for _ in range(3):
    t0=time.perf_counter(); step(); ts.append((time.perf_counter()-t0)*1000)
print("median ms", statistics.median(ts), ts)
with torch.autograd.profiler.profile() as prof:
    step()
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=40))
