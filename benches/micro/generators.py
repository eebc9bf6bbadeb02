"""Micro benchmark: generators (for loops over them, yield from, next() with StopIteration,
send()) and coroutines (await chains, as pyperformance's bm_coroutines). Prints a checksum.
Usage: generators.py [N]."""
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000


def count(n):
    for i in range(n):
        yield i


def delegate(n):
    yield from count(n)
    yield -1


def accumulator():
    total = 0
    while True:
        x = yield total
        total += x


async def fib(n):
    if n <= 1:
        return n
    return await fib(n - 1) + await fib(n - 2)


def run_coro(c):
    try:
        while True:
            c.send(None)
    except StopIteration as e:
        return e.value


def main():
    total = 0
    for i in range(N // 100):
        total += sum(count(100))
        for v in delegate(50):
            total += v
        g = (x * 2 for x in range(20))
        total += next(g) + sum(g)
        it = iter(())
        total += next(it, 7)
    acc = accumulator()
    next(acc)
    for i in range(N):
        total = acc.send(i) & 0xFFFF
    total += run_coro(fib(N.bit_length() + 6))
    print(total)


main()
