import sys, time, sysconfig, pathlib, libcst as cst
sys.path.insert(0, ".")
import rules
root = pathlib.Path(sysconfig.get_paths()["stdlib"])
files = [p for p in sorted(root.rglob("*.py")) if not ({"test","tests","site-packages"} & set(p.relative_to(root).parts))]
n = int(sys.argv[1]) if len(sys.argv) > 1 else len(files)
files = files[:: max(1, len(files)//n)]
srcs = [(str(p), p.read_bytes()) for p in files]
sys.setrecursionlimit(20000)
t = time.perf_counter(); fails=0
for p, s in srcs:
    try: cst.parse_module(s)
    except Exception: fails+=1
tp = time.perf_counter()-t
t = time.perf_counter(); nf=0; notes=0
for p, s in srcs:
    r = rules.analyze(s, p); nf += len(r.findings); notes += sum(f.code.startswith("RG0") for f in r.findings)
ta = time.perf_counter()-t
print(len(srcs), "files parse", round(tp,2), "analyze", round(ta,2), "ratio", round(ta/tp,2), "findings", nf, "notices", notes, "parsefail", fails)
