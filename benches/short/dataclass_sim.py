"""Short program (standard library, 40-300 ms): 40,000 dataclass events through a heapq, accounts updated with dataclasses.replace. Prints a digest."""
from dataclasses import dataclass, field, replace, asdict
import hashlib, heapq
@dataclass(order=True)
class Event:
    time: float
    kind: str = field(compare=False)
    payload: dict = field(default_factory=dict, compare=False)
@dataclass
class Account:
    name: str
    balance: float = 0.0
    history: list = field(default_factory=list)
accounts = {f"a{i}": Account(f"a{i}") for i in range(200)}
q = []
for i in range(40000):
    heapq.heappush(q, Event((i * 7919) % 10007 + i / 1e5, "dep" if i % 3 else "wd", {"acct": f"a{i % 200}", "amt": (i % 50) + 1}))
n = 0
while q:
    e = heapq.heappop(q)
    a = accounts[e.payload["acct"]]
    amt = e.payload["amt"] * (1 if e.kind == "dep" else -1)
    accounts[a.name] = replace(a, balance=a.balance + amt) if n % 10 == 0 else a
    accounts[a.name].balance += amt if n % 10 else 0
    accounts[a.name].history.append(e.time)
    n += 1
print(hashlib.sha256(repr(sorted((k, round(v.balance, 6), len(v.history)) for k, v in accounts.items())).encode()).hexdigest(), len(asdict(accounts["a1"])))
