"""Short program (standard library, 40-300 ms): write 60,000 CSV rows, read them back with DictReader, per-city statistics. Prints a digest."""
import csv, io, statistics, random, hashlib
random.seed(2)
buf = io.StringIO()
w = csv.writer(buf)
w.writerow(["id", "name", "city", "amount", "qty"])
cities = ["Oslo", "Lima", "Pune", "Kyiv", "Rome", "Quito"]
for i in range(60000):
    w.writerow([i, f"n{i % 977}", random.choice(cities), f"{random.uniform(1, 500):.2f}", random.randint(1, 9)])
buf.seek(0)
by_city = {}
for row in csv.DictReader(buf):
    by_city.setdefault(row["city"], []).append(float(row["amount"]) * int(row["qty"]))
out = []
for c in sorted(by_city):
    v = by_city[c]
    out.append((c, len(v), round(statistics.mean(v), 4), round(statistics.median(v), 4), round(statistics.pstdev(v), 4)))
print(hashlib.sha256(repr(out).encode()).hexdigest())
