"""Short program (standard library, 40-300 ms): 40,000 log records through 20 loggers, a formatter with funcName and lineno, some exceptions. Prints a digest."""
import logging, io, hashlib
buf = io.StringIO()
h = logging.StreamHandler(buf)
h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(funcName)s:%(lineno)d %(message)s", datefmt="X"))
root = logging.getLogger("app"); root.addHandler(h); root.setLevel(logging.DEBUG)
logs = [logging.getLogger(f"app.m{i}") for i in range(20)]
def work(i):
    lg = logs[i % 20]
    lg.debug("item %d value %s", i, i * 3)
    if i % 7 == 0:
        lg.warning("seven %d", i)
    if i % 1000 == 0:
        try:
            1 / 0
        except ZeroDivisionError:
            lg.exception("boom %d", i)
for i in range(40000):
    work(i)
import re
print(hashlib.sha256(re.sub(r"X ", "", buf.getvalue()).encode()).hexdigest())
