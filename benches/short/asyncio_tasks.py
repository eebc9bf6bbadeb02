"""Short program (standard library, 40-300 ms): 20 asyncio worker tasks draining a 30,000-item queue, then 2,000 wait_for calls. Prints a digest."""
import asyncio, hashlib
async def worker(q, out, i):
    while True:
        item = await q.get()
        if item is None:
            q.task_done(); return
        await asyncio.sleep(0)
        out.append((i, item * item % 1009))
        q.task_done()
async def main():
    q = asyncio.Queue()
    out = []
    ws = [asyncio.create_task(worker(q, out, i)) for i in range(20)]
    for n in range(30000):
        await q.put(n)
    for _ in ws:
        await q.put(None)
    await q.join()
    await asyncio.gather(*ws)
    r = await asyncio.gather(*(asyncio.wait_for(asyncio.sleep(0, result=k), 1) for k in range(2000)))
    return sorted(x[1] for x in out), sum(r)
res = asyncio.run(main())
print(hashlib.sha256(repr(res).encode()).hexdigest())
