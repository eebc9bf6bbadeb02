"""Short program (standard library, 40-300 ms): glob and os.walk over three standard-library packages with pathlib and fnmatch. Prints a digest."""
import pathlib, hashlib, os, sys, fnmatch
root = pathlib.Path(os.path.dirname(os.__file__))
h = hashlib.sha256()
n = 0
for _ in range(2):
    for p in sorted(root.glob("email/**/*.py")) + sorted(root.glob("json/*.py")) + sorted(root.glob("asyncio/*.py")):
        rel = p.relative_to(root)
        h.update(str(rel).encode()); h.update(p.suffix.encode()); h.update(p.stem.encode())
        h.update(str(p.with_suffix(".txt").name).encode())
        h.update(str(fnmatch.fnmatch(p.name, "*_*.py")).encode())
        n += 1
    for dirpath, dirnames, filenames in os.walk(root / "email"):
        dirnames.sort()
        for f in sorted(filenames):
            h.update(os.path.join(os.path.relpath(dirpath, root), f).encode())
print(h.hexdigest(), n)
