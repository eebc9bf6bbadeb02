"""Differential tests for the in-line fast paths of the numeric, subscript, sequence and
iteration stencils (stencils/subscr.c, iter.c, unpack.c, binary.c, jumps.c; csrc/numeric.c):
every fast path against the generic one on the operand kinds at its edges."""
from differential import check


def test_subscript_negative_and_out_of_range_indices():
    check("""
        def get(s, i):
            try:
                return s[i]
            except Exception as e:
                return (type(e).__name__, str(e))
        def put(s, i, v):
            try:
                s[i] = v
                return s
            except Exception as e:
                return (type(e).__name__, str(e))
        l = [10, 20, 30]
        t = (10, 20, 30)
        idx = [0, 2, 3, -1, -3, -4, 2**30 - 1, -(2**30) + 1, 2**31, -(2**31), 2**70, -(2**70),
               True, False, 1.0, "1", None]
        result = [get(l, i) for i in idx] + [get(t, i) for i in idx] + [get([], 0), get((), -1)]
        result += [put(list(l), i, 'x') for i in idx] + [put(t, 0, 1)]
        class L(list):
            def __getitem__(self, i): return ('L', i)
            def __setitem__(self, i, v): print('set', i, v)
        result += [get(L(l), -1), put(L(l), -1, 5)]
    """)


def test_subscript_releases_dead_containers_with_finalizers_in_order():
    check("""
        class D:
            def __init__(self, n): self.n = n
            def __del__(self): print('del', self.n)
        def f():
            x = [D(1), D(2)][-1]
            print('got', x.n)
            y = (D(3), D(4))[0]
            print('got', y.n)
            return [D(5)][0:1]
        result = len(f())
    """)


def test_slices_with_steps_and_bounds():
    check("""
        def get(s, a, b, c):
            r = []
            r.append(s[a:b])
            r.append(s[a:b:c] if c != 'z' else None)
            r.append(s[a:])
            r.append(s[:b])
            r.append(s[::c] if c != 'z' else None)
            r.append(s[:])
            return r
        def safe(s, a, b, c):
            try:
                return get(s, a, b, c)
            except Exception as e:
                return (type(e).__name__, str(e))
        vals = [None, 0, 1, 3, -1, -2, 7, -9, 2**40, -(2**40), 2**70, True]
        steps = [None, 1, 2, -1, -2, 3, 0, 2**40, -(2**70), 'z']
        result = []
        for s in ([0, 1, 2, 3, 4, 5], (0, 1, 2, 3, 4, 5), [], (), 'abcdef', range(6)):
            for a in vals:
                for b in vals[:6]:
                    for c in steps:
                        result.append(safe(s, a, b, c))
        t = (1, 2, 3)
        result.append(t[:] is t)
        result.append(t[0:3] is t)
        result.append(t[0:3:1] is t)
        result.append(()[0:0] == ())
        result.append((1, 2)[5:1] == ())
        l = [1, 2]
        result.append(l[:] is l)
        class Idx:
            def __index__(self): return 1
        result.append(safe([1, 2, 3], Idx(), None, None))
        class S(list):
            def __getitem__(self, i): return ('S', repr(i))
        result.append(S([1, 2])[1:2])
        result.append(S([1, 2])[::-1])
    """)


def test_slice_assignment():
    check("""
        def put(l, a, b, v):
            try:
                l[a:b] = v
            except Exception as e:
                return (type(e).__name__, str(e))
            return l
        def gen():
            yield 1
            yield 2
        vals = [None, 0, 1, 3, -1, -2, 7, -9, 2**70]
        result = []
        for a in vals:
            for b in vals:
                for v in ([], [9], (8, 7), 'ab', gen(), 5, None):
                    result.append(put([0, 1, 2, 3, 4], a, b, v))
        l = [1, 2, 3]
        l[1:] = l
        result.append(l)
        result.append(put((1, 2), 0, 1, [3]))
        perm = list(range(8))
        k = perm[3]
        while k:
            perm[:k + 1] = perm[k::-1]
            k = perm[0]
        result.append(perm)
        class D:
            def __init__(self, n): self.n = n
            def __del__(self): print('del', self.n)
        l = [D(1), D(2), D(3)]
        l[0:2] = (D(4),)
        print('after')
        result.append([d.n for d in l])
        del l  # released here, not by a later garbage collection
        class L(list):
            def __setitem__(self, i, v): print('set', repr(i), v)
        L([1])[0:1] = [2]
    """)


def test_slice_errors_have_the_subscript_line():
    check("""
        def f(l, a):
            x = (
                l
                [a:
                 2]
            )
            return x
        result = f([1, 2, 3], 1)
        f(5, 1)
    """)


def test_for_loops_over_lists_tuples_ranges():
    check("""
        def f(it):
            out = []
            for x in it:
                out.append(x)
            return out
        big = 2**62
        result = [f([1, 2, 3]), f((4, 5)), f([]), f(()), f(range(-10, 300, 7)),
                  f(range(big, big + 3)), f(range(5, -5, -3)), f(range(2**30 - 2, 2**30 + 2)),
                  f(range(-(2**63), -(2**63) + 2)), f(range(2**63 - 2, 2**63 + 1)),
                  f(iter([1, 2])), f(reversed([1, 2])), f('ab'), f({1: 2})]
        def mutate():
            l = [1, 2, 3]
            out = []
            for x in l:
                out.append(x)
                if x == 1:
                    l.append(4)
                if x == 2:
                    del l[0]
            return out, l
        result.append(mutate())
        def resumed():
            it = iter([1, 2, 3, 4])
            for x in it:
                if x == 2:
                    break
            rest = []
            for x in it:
                rest.append(x)
            for x in it:
                rest.append('never')
            return rest
        result.append(resumed())
        class D:
            def __del__(self): print('del')
        def drop():
            for d in [D()]:
                pass
            print('loop done')
        drop()
    """)


def test_int_and_float_arithmetic_edges():
    check("""
        class F(float):
            def __add__(self, o): return ('F+', float(self), o)
            def __radd__(self, o): return ('+F', o, float(self))
            def __mul__(self, o): return ('F*', float(self), o)
        class I(int):
            def __sub__(self, o): return ('I-', int(self), o)
        def ops(a, b):
            out = []
            for f in (lambda: a + b, lambda: a - b, lambda: a * b, lambda: a / b):
                try:
                    out.append(f())
                except Exception as e:
                    out.append(type(e).__name__)
            return out
        M = 2**30
        vals = [0, 1, -1, 5, -5, 255, 256, 257, -6, -5, M - 1, -(M - 1), M, -M, 2**62, 2**64,
                0.0, -0.0, 1.5, float('inf'), float('nan'), F(2.5), I(7), True, 1e308]
        result = []
        for a in vals:
            for b in vals:
                result.append(ops(a, b))
        def acc(n):
            s, f, p = 0, 0.0, 1
            for i in range(n):
                s += i * i - 3
                f += i * 0.5
                p = p * 3 - i
            return s, f, p
        result.append(acc(100))
        x = 1000
        y = x + 1
        z = y
        y += 1
        result.append((x, y, z))
    """)


def test_truth_of_ints_and_other_objects_in_branches():
    check("""
        class B(int):
            def __bool__(self):
                print('bool called')
                return False
        class L:
            def __len__(self): return 0
        class E:
            def __bool__(self): raise ValueError('no truth')
        def t(v):
            if v:
                return 'yes'
            return 'no'
        def w(v):
            n = 0
            while v:
                v -= 1
                n += 1
            return n
        result = [t(0), t(1), t(-1), t(2**80), t(B(5)), t(L()), t([]), t([0]), t(0.0), t(''),
                  t(None), w(5), w(2**31 + 3 - 2**31)]
        t(E())
    """)


def test_unpack_into_locals():
    check("""
        import sys
        class D:
            def __init__(self, n): self.n = n
            def __del__(self):
                f = sys._getframe(1)
                print('del', self.n, f.f_lineno, sorted(k for k, v in f.f_locals.items()
                                                       if isinstance(v, int)))
        def f(seqs):
            out = []
            a = b = c = d = None
            for s in seqs:
                try:
                    (a,
                     b,
                     c,
                     d) = s
                except Exception as e:
                    out.append((type(e).__name__, str(e)))
                    continue
                out.append((a, b, c, d))
                a = D(1); b = D(2); c = D(3); d = D(4)
            return out
        def g():
            yield 7
            yield 8
            yield 9
            yield 10
        result = f([(1, 2, 3, 0), [4, 5, 6, 0], g(), 'wxyz', (1, 2), [1, 2, 3, 4, 5], 5,
                    {1: 0, 2: 0, 3: 0, 4: 0}])
        def pairs(d):
            s = 0
            for k, v in d.items():
                s += k * v
            x, y = y, x = 1, 2
            return s, x, y
        result.append(pairs({i: i + 1 for i in range(50)}))
        def many(t):
            a, b, c, d, e, f, g, h, i, j = t
            a, b, c, d, e, f, g, h, i, j = j, i, h, g, f, e, d, c, b, a
            return [a, b, c, d, e, f, g, h, i, j]
        result.append([many(tuple(range(10))), many(list(range(10, 20)))])
        def same(t):
            a, a, a, a = t
            b, c, d = t[:3]
            return a, b, c, d
        result.append(same((1, 2, 3, 4)))
    """)


def test_unpack_into_locals_beyond_extended_arg():
    names = [f"v{i}" for i in range(300)]
    body = "\n".join(f"    {n} = {i}" for i, n in enumerate(names))
    check(f"""
def f(t):
{body}
    v0, v299, v1 = t
    v298, v2 = t[:2]
    return v0, v299, v1, v298, v2
result = [f((1, 2, 3)) for _ in range(3)]
""")


def test_range_loop_variable_updated_in_place_only_when_unshared():
    check("""
        import sys
        def f(n):
            keep = []
            ids = set()
            total = 0
            for i in range(250, 250 + n):
                total += i
                if i % 3 == 0:
                    keep.append(i)
                if i % 5 == 0:
                    del i
            return total, keep
        def g():
            out = []
            for i in range(-10, 2**31, 2**29):
                out.append(i)
            for j in range(2**30 - 3, 2**30 + 3):
                out.append(j)
            for k in range(300, 310):
                pass
            last = k
            for k in range(5):
                pass
            return out, last, k
        def h():
            seen = []
            for i in range(1000, 1003):
                seen.append(sys._getframe().f_locals['i'])
                seen.append(i)
            return seen
        def closure():
            fs = []
            for i in range(1000, 1003):
                fs.append(lambda: i)
            return [f() for f in fs]
        result = [f(40), g(), h(), closure()]
    """)


def test_arithmetic_into_a_rebound_local_every_operator_and_operand_kind():
    # BINARY_OP + STORE_FAST (stencils/binary.c, csrc/arith.c's cpjit_arith_store_*): the result
    # may be written into the local's old int or float; every operator, operand kind and result
    # range against the interpreter, the local rebound many times in a loop.
    check("""
        class F(float): pass
        class I(int): pass
        def run(a, b, start, n):
            out = []
            x = start
            for i in range(n):
                x = a + b
                out.append(x)
                x = a - b
                out.append(x)
                x = a * b
                out.append(x)
                try:
                    x = a / b
                except ZeroDivisionError as e:
                    out.append(('ZeroDivisionError', str(e)))
                out.append((type(x).__name__, x))
                y = start
                y += b
                y -= a
                y *= b
                try:
                    y /= b
                except ZeroDivisionError as e:
                    out.append(('ZeroDivisionError', str(e)))
                out.append((type(y).__name__, y))
                a, b = b, a
            return out
        kinds = [1.5, -2.25, 0.0, -0.0, 1e308, float('inf'), 3, -7, 0, 1, 255, 256, -5, -6,
                 2**15, 2**29, 2**30 - 1, -(2**30) + 1, 2**30, 2**40, 10**30, True, False,
                 F(2.5), I(9), 1 + 2j]
        result = []
        for a in kinds:
            for b in kinds:
                for start in (0.5, 1000, 7, F(1.0), I(1000), None, 'str'):
                    try:
                        result.append(run(a, b, start, 3))
                    except Exception as e:
                        result.append((type(e).__name__, str(e)))
    """)


def test_rebound_local_never_changes_an_object_others_hold():
    # The old value is overwritten only when nothing but the local (and one operand's stack
    # slot) holds it: aliases in other locals, containers, defaults, locals() snapshots and a
    # generator's caller keep their values; small-int results are the cached objects.
    check("""
        SMALL = list(range(-5, 257))
        def f(n, keep=[]):
            out = []
            t = 1000.5
            k = 5000
            for i in range(n):
                alias = t
                t = t * 1.5            # old value also in `alias`
                out.append((alias, t))
                held = [k]
                k = k + 3              # old value also in a list
                out.append((held[0], k))
                k += 1                 # lhs is the old value (local + stack)
                t = 2.0 - t            # rhs is the old value
                u = t
                u = u * u              # both operands are the old value
                out.append((t, u))
                snap = dict(locals())
                t = t + 1.0            # old value in a locals() snapshot
                out.append((snap['t'], t))
                keep.append(k)
                k = k * 2              # old value in a default argument's list
                m = k + 1              # a fresh int only the local holds
                m = k - (k - 7)        # 7: the cached small int, not the old object
                out.append((m, m is SMALL[7 + 5]))
                z = k * 3              # fresh, only the local
                z = z - (z - 200)      # 200: cached small int
                out.append((z is SMALL[200 + 5], z))
                z = z - 300            # -100: not cached, new object
                z = z - 200            # -300
                out.append(z)
                a = t * 3.0            # fresh floats only `a` and `b` hold
                b = t * 5.0
                a2 = a                 # the old value of `a` also in `a2`
                a = t / 4.0            # not an operand: must not overwrite a2's object
                lst = [b]
                b = t - 1.0            # old value of `b` in a list
                out.append((a2, a, lst, b))
                n1 = k * 7             # a fresh int in `n1`, also in `n2`
                n2 = n1
                n1 = k + 12345
                out.append((n2, n1))
            out.append(list(keep))
            return out
        def g(n):
            s = 0.0
            c = 10**6
            for i in range(n):
                s += i * 0.5
                c -= 1
                yield s, c
        result = [f(5), f(3), list(g(6))]
        it = g(4)
        first = next(it)
        result.append((first, list(it)))
    """)


def test_rebound_local_two_digit_ints_across_the_digit_edges():
    # cpjit_arith_store_*'s two-digit path: operands and results up to 2**60 written into the
    # local's old int when its digits have room; sums crossing 2**30 and 2**60 both ways,
    # negatives, products that overflow 64 bits, shrinking to one digit and to cached small
    # ints, and old values others hold.
    check("""
        def run(start, step, n, op):
            out = []
            x = start
            held = []
            for i in range(n):
                if op == 0:
                    x += step
                elif op == 1:
                    x -= step
                elif op == 2:
                    x *= step
                elif op == 3:
                    x = x + step
                else:
                    x = step - x
                if i % 3 == 0:
                    held.append(x)      # an alias: must keep its value
                out.append(x)
            return out, held, [type(v) for v in held[:1]]
        edges = [2**30 - 3, 2**30, -(2**30) - 2, 2**60 - 5, -(2**60) + 2, 2**59, 3 * 2**31,
                 10, -10, 0, 2**61, 7]
        steps = [1, -1, 2**30, -(2**30), 2**29 + 7, 2**59, 3, -3, 2**31 - 1, 0, 2**60, 5]
        result = []
        for start in edges:
            for step in steps:
                for op in range(5):
                    result.append(run(start, step, 7, op))
        def total(n):
            s = 0
            for i in range(n):
                s += i * 1000003
            small = s
            for i in range(n):
                small -= i * 1000003
            return s, small
        result.append(total(3000))
        SMALL = list(range(-5, 257))
        def back_to_small():
            x = 2**40
            x -= 2**40 - 100
            return x, x is SMALL[105]
        result.append(back_to_small())
    """)


def test_rebound_local_division_by_zero_traceback():
    check("""
        import traceback
        def f(vals):
            q = 1.0
            for v in vals:
                q = 10.0 / v
            return q
        try:
            f([2.0, 4.0, 0.0])
        except ZeroDivisionError:
            result = traceback.format_exc().splitlines()[-3:]
    """)


def test_str_built_in_a_local_by_concatenation():
    # `s = s + t` and `s += t` on a local str append in place when the local alone holds it
    # (csrc/arith.c's str_append_into, as BINARY_OP_INPLACE_ADD_UNICODE), which keeps string
    # building linear (benches/micro/strings.py); aliases keep their values, other operand
    # kinds and errors are the generic operator's.
    check("""
        class S(str): pass
        def build(parts, start):
            s = start
            seen = []
            for p in parts:
                before = s
                s += p
                seen.append((before, s))
                s = s + p
                s += s
                s = p + s
                s = s[len(s) // 2:]
            return s, seen
        def build_alone(n):
            s = ''
            for i in range(n):
                s += 'ab'
                s = s + str(i % 10)
            return s, len(s)
        def errors(start, other):
            s = start
            try:
                s += other
            except TypeError as e:
                return ('TypeError', str(e), s)
            return s
        def shared(n):
            s = 'x' * 3
            keep = [s]
            d = {'k': s}
            for i in range(n):
                s += 'y'
                keep.append(s)
            return s, keep, d
        result = [build(['a', 'bc', '', 'déf', '\\U0001f600', S('z')], start)
                  for start in ('', 'q', S('sub'), 'x' * 100)]
        result.append(build_alone(3000))
        result += [errors('a', 1), errors('a', None), errors('a', b'b'), errors(S('a'), S('b')),
                   errors('a', S('b'))]
        result.append(shared(5))
        import sys
        s = 'interned'
        t = sys.intern('interned')
        def on_interned(s):
            for i in range(3):
                s += '!'
            return s
        result += [on_interned(t), t, t is sys.intern('interned')]
    """)


def test_list_item_updated_in_place_by_augmented_assignment():
    # `c[i] op= v` (BINARY_OP + SWAP 3, SWAP 2, STORE_SUBSCR; csrc/arith.c's
    # cpjit_arith_update_*): the list's item may take the result in place when the list and
    # the stack alone hold it. Aliases, mutation by the operand's own expression, index kinds,
    # containers that are not exact lists, results at the small-int and digit edges, and errors.
    check("""
        class L(list): pass
        SMALL = list(range(-5, 257))
        def upd(c, i, v, n):
            out = []
            for k in range(n):
                c[i] += v
                c[i] -= v * 0.5 if isinstance(v, float) else v // 2
                c[i] *= v
                try:
                    c[i] /= v
                except ZeroDivisionError as e:
                    out.append(('ZeroDivisionError', str(e)))
                out.append(list(c) if isinstance(c, list) else dict(c))
            return out
        def safe(*a):
            try:
                return upd(*a)
            except Exception as e:
                return (type(e).__name__, str(e))
        result = []
        for v in (1.5, -0.25, 0.0, 3, -7, 0, 2**29, 2**31, True, 1 + 1j, 'x'):
            for i in (0, 2, -1, -3, 3, -4, True, 2**40):
                result.append(safe([10.5, 20, -30.25], i, v, 3))
            result.append(safe(L([1.0, 2.0]), 0, v, 2))
            result.append(safe({0: 1.0, 'k': 5}, 0, v, 2))
            result.append(safe((1.0, 2.0), 0, v, 1))
        def aliasing(n):
            out = []
            v = [1000.5, 2000, 3.25, 4000]
            for k in range(n):
                a = v[0]
                v[0] += 1.0            # the item is also in `a`
                held = [v[1]]
                v[1] += 5              # also in another list
                v[2] += v[2]           # the operand is the item itself
                v[3] += 0              # the same value
                v[3] -= 3800 + k       # into the small-int range: the cached objects
                out.append((a, held, list(v), v[3] is SMALL[v[3] + 5] if -5 <= v[3] <= 256 else None))
                v[3] = 4000 + k
                [5.5, 6.5][0] += 1.0   # a list only the stack holds
            return out
        def mutating(n):
            v = [1.0, 2.0, 3.0]
            def grow():
                v.append(9.0)
                return 1.0
            def replace():
                v[0] = 100.0
                return 1.0
            def clear():
                v.clear()
                return 1.0
            w = []
            def move():
                w.append(v[0])
                v[0] = 100.0
                return 1.0
            out = []
            for k in range(n):
                v[0] += grow()
                v[0] += replace()
                v[0] += move()         # the item now in `w` alone, not in `v`
                out.append((list(v), list(w)))
            try:
                v[1] += clear()
            except IndexError as e:
                out.append(('IndexError', str(e)))
            return out
        import sys
        def dicts(n):
            class K(str):
                def __eq__(self, other):
                    print('K.__eq__ at', sys._getframe(1).f_lasti)
                    return str.__eq__(self, other)
                __hash__ = str.__hash__
            totals = {'a': 1000.5, 'b': 2000, 'c': 0.5}
            mixed = {1: 1000.5, 'a': 2000.5}
            out = []
            for k in range(n):
                totals['a'] += 1.25
                totals['b'] += 1000
                held = totals['c']
                totals['c'] *= 3.0            # the value also in `held`
                mixed['a'] += 1.0             # a dict with a non-str key
                mixed[1] += 2.0
                sub = {K('a'): k + 3000.5}
                sub['a'] += 1.0               # the stored key is a str subclass
                sub[K('a')] += 1.0
                out.append((dict(totals), held, dict(mixed), list(sub.values())))
            try:
                totals['missing'] += 1.0
            except KeyError as e:
                out.append(('KeyError', str(e)))
            return out
        result += [aliasing(4), mutating(3), dicts(3)]
        import traceback
        def div(v):
            for i in range(3):
                v[0] /= v[1]
                v[1] -= 1.0
            return v
        try:
            div([8.0, 2.0])
        except ZeroDivisionError:
            result.append(traceback.format_exc().splitlines()[-3:])
    """)


def test_dict_item_updated_in_place_gets_a_new_dict_version():
    # `d[k] op= v` whose int or float takes the result in place (cpjit_arith_update_*) skips
    # the STORE_SUBSCR, whose insertdict gives the dict a new version (PEP 509, what C
    # extensions caching lookups by version read): every update must still change it. Module
    # and instance dicts reached through their attributes go the STORE_ATTR way.
    check("""
        import types
        from _testcapi import dict_get_version as version
        m = types.ModuleType("m")
        m.z = 100000
        def changed(d, update):
            before = version(d)
            update()
            return version(d) != before
        def item_int(d): d["k"] += 1000
        def item_float(d): d["f"] *= 1.5
        def module_dict(): m.__dict__["z"] += 7
        d = {"k": 100000, "f": 2.0}
        result = [0, 0, 0]
        for i in range(40):
            result[0] += changed(d, lambda: item_int(d))
            result[1] += changed(d, lambda: item_float(d))
            result[2] += changed(m.__dict__, module_dict)
        result.append((d, m.z))
    """)


def test_rebound_local_followed_by_an_unbound_local():
    # The BINARY_OP + STORE_FAST pair skips the STORE_FAST and continues at the next
    # instruction's code in the mode falling through would reach it: after a warm
    # STORE_FAST__LOAD_FAST the LOAD_FAST's UnboundLocalError is reported at the store's line,
    # as the quickened interpreter reports it; cold, at its own.
    for threshold in (0, 12):
        check("""
            import traceback
            def g(a, b, n):
                x = a * 1.0
                for i in range(n):
                    x = a + b
                    z = y + x
                    y = z
                return x
            out = []
            for k in range(20):
                try:
                    g(1.5, 2.5, 3)
                except UnboundLocalError:
                    out.append(traceback.format_exc().splitlines()[-3:])
            result = out
        """, threshold=threshold)


def test_float_with_small_int_and_int_true_division():
    """A float with a one-digit int (`1 - t`, `x * 2`, `i / n`) and a true division of two
    one-digit ints are computed in csrc/arith.c as float's slot and long_true_divide compute
    them: the same doubles (signed zeros, infinities, NaNs, rounding), the same exceptions, and
    a float others hold never reused for the result."""
    check("""
        import math
        M = 2**30
        ints = [0, 1, -1, 2, -3, 7, 255, 256, 257, -256, M - 1, -(M - 1), M, -M, 2**53 + 1, True]
        floats = [0.0, -0.0, 0.1, -2.5, 1e-310, 1e308, -1e308, math.inf, -math.inf, math.nan,
                  1 / 3, 2.0**52 + 0.5]
        def ops(a, b):
            out = []
            for f in (lambda: a + b, lambda: a - b, lambda: a * b, lambda: a / b):
                try:
                    r = f()
                    out.append((type(r).__name__, repr(r), math.copysign(1, r) if r == 0 else 0))
                except Exception as e:
                    out.append((type(e).__name__, str(e)))
            return out
        def inplace(a, b):
            out = []
            x = a; x += b; out.append(repr(x))
            x = a; x -= b; out.append(repr(x))
            x = a; x *= b; out.append(repr(x))
            x = a
            try:
                x /= b
            except ZeroDivisionError as e:
                x = str(e)
            out.append(repr(x))
            return out
        result = []
        for i in ints:
            for f in floats:
                result.append(ops(i, f) + ops(f, i) + inplace(i, f) + inplace(f, i))
            for j in ints:
                result.append(ops(i, j))
        shared = float('2.5')  # no constant holds it: the dict and the list alone
        keep = [shared]
        def fresh(n):
            t = 0.0
            for k in range(n):
                t = t + k          # the float the stack alone holds: rebound in place
                u = shared * 2     # `shared` is held elsewhere: never written
                v = 3 - shared
            return t, u, v, keep[0], shared
        fresh(5)  # its first call quickens the code, interpreted
        result.append(fresh(50))
        def div(a, b):
            return a / b
        for a, b in ((1, 0), (0, 0), (1.5, 0), (3, 0.0), (-0.0, 0)):
            try:
                div(a, b)
            except ZeroDivisionError as e:
                result.append(str(e))
        div(7, 0)
    """)


def test_float_compared_with_small_int():
    """A float compared with a one-digit int (`t > 0`, `u >= knots[i]`) is answered in
    csrc/slowpaths.c as float_richcompare answers it, as a value, in a forward jump and in a
    `while` loop's backward jump."""
    check("""
        import math
        M = 2**30
        ints = [0, 1, -1, 3, M - 1, -(M - 1), M, 2**53 + 1, True]
        floats = [0.0, -0.0, 0.5, -0.5, 3.0, 2.0**30 - 1, 1e300, -1e300, math.inf, -math.inf,
                  math.nan, 2.0**53]
        def values(a, b):
            return [a < b, a <= b, a == b, a != b, a > b, a >= b]
        def jumps(a, b):
            out = []
            if a < b: out.append('lt')
            if a <= b: out.append('le')
            if a == b: out.append('eq')
            if a != b: out.append('ne')
            if a > b: out.append('gt')
            if not a >= b: out.append('not ge')
            return out
        def loop(x, limit):
            n = 0
            while x < limit:
                x += 1
                n += 1
            return n, x
        result = []
        for i in ints:
            for f in floats:
                result.append((values(i, f), values(f, i), jumps(i, f), jumps(f, i)))
        result.append([loop(0.5, 10), loop(-3, 2.5), loop(1.5, 1), loop(math.nan, 3)])
    """)


def test_float_powers_in_the_generic_operator():
    """`x ** y` with a float operand (and the other a float or a one-digit int) is computed in
    csrc/slowpaths.c where float_pow's result is finite, and left to float_pow otherwise: the
    same values and the same exceptions (a negative power of zero, overflow, complex results)."""
    check("""
        import math
        vals = [0, 1, -1, 2, -3, 10, 0.0, -0.0, 0.5, -0.5, 2.0, -2.0, 1.5, -1.5, 1e10, 1e300,
                3, 300, -300, math.inf, -math.inf, math.nan]
        def pw(a, b):
            try:
                r = a ** b
                return (type(r).__name__, repr(r))
            except Exception as e:
                return (type(e).__name__, str(e))
        def ipw(a, b):
            try:
                a **= b
                return repr(a)
            except Exception as e:
                return (type(e).__name__, str(e))
        result = [(pw(a, b), ipw(a, b)) for a in vals for b in vals]
        big = 2**40
        result += [pw(big, 2.0), pw(2.0, big), pw(0.5, big), pw(-1.0, big), pw(big, -0.5)]
    """)


def test_small_int_operators_the_interpreter_never_specialises():
    """`//`, `%`, `&`, `|`, `^`, `<<`, `>>` on two one-digit ints are computed in csrc/arith.c as
    int's slots compute them: floor division and modulo toward minus infinity with the divisor's
    sign, two's complement bitwise operators on negative ints, shifts of every count up to past
    64 bits, cached small ints as results; zero divisors and negative counts raise as before."""
    check("""
        M = 2**30
        vals = [0, 1, -1, 2, -2, 3, -3, 7, -7, 13, 255, 256, -5, -6, 31, 32, 33, 62, 63, 64,
                1000, M - 1, -(M - 1), M, True, 2**40]
        OPS = [lambda a, b: a // b, lambda a, b: a % b, lambda a, b: a & b,
               lambda a, b: a | b, lambda a, b: a ^ b, lambda a, b: a << min(b, 1000),
               lambda a, b: a >> b]
        def inplace(a, b):
            out = []
            for k in range(7):
                x = a
                try:
                    if k == 0: x //= b
                    elif k == 1: x %= b
                    elif k == 2: x &= b
                    elif k == 3: x |= b
                    elif k == 4: x ^= b
                    elif k == 5: x <<= min(b, 1000)
                    else: x >>= b
                    out.append(x)
                except Exception as e:
                    out.append((type(e).__name__, str(e)))
            return out
        def one(a, b):
            out = []
            for op in OPS:
                try:
                    r = op(a, b)
                    out.append((r, type(r).__name__, -5 <= r <= 256 and r is int(str(r))))
                except Exception as e:
                    out.append((type(e).__name__, str(e)))
            return out
        result = [(one(a, b), inplace(a, b)) for a in vals for b in vals]
    """)


def test_every_operator_on_operands_that_are_not_ints_or_floats():
    # A left operand that is not an exact int or float takes each operator's generic path
    # straight (csrc/slowpaths.c cpjit_binary_other_*, cpjit_binary_generic_N): strs, bytes,
    # lists, tuples, sets, Decimals, Fractions, bools, an int subclass, Python classes with
    # dunders (reflected ones, NotImplemented, raising), None; every operator in its plain and
    # in-place forms, on a local (the BINARY_OP + STORE_FAST pair) and on the stack.
    check("""
        import copy, decimal, fractions
        class I(int):
            def __add__(self, o): return ('I+', int(self), o)
        class P:
            def __init__(self, v): self.v = v
            def __repr__(self): return 'P(%r)' % (self.v,)
        ops = ['+', '-', '*', '/', '//', '%', '**', '<<', '>>', '&', '|', '^', '@']
        for op in ops:
            exec('def dunder(self, o): return ("%s", self.v, o)' % op)
            name = {'+': 'add', '-': 'sub', '*': 'mul', '/': 'truediv', '//': 'floordiv',
                    '%': 'mod', '**': 'pow', '<<': 'lshift', '>>': 'rshift', '&': 'and',
                    '|': 'or', '^': 'xor', '@': 'matmul'}[op]
            setattr(P, '__%s__' % name, dunder)
            setattr(P, '__r%s__' % name, lambda self, o, op=op: ('r' + op, o, self.v))
        class N:
            def __add__(self, o): return NotImplemented
            def __sub__(self, o): raise ValueError('sub')
            def __repr__(self): return 'N()'
        lefts = ['ab%s', b'x%d', [1, 2], (3,), {1, 2, 3}, frozenset({2}),
                 decimal.Decimal('1.25'), fractions.Fraction(3, 4), True, I(5), P(7), N(), None,
                 2, 2.5, 10**30]
        rights = [2, 1.5, (4,), {2, 5}, decimal.Decimal('0.5'), fractions.Fraction(1, 3), P(1),
                  'z', [9], 0, False, -1, 3]
        funcs = {}
        for op in ops:
            src = ('def f(a, b):\\n'
                   '    x = a {0} b\\n'          # BINARY_OP + STORE_FAST
                   '    y = [a {0} b][0]\\n'     # BINARY_OP alone
                   '    a {0}= b\\n'             # in-place + STORE_FAST
                   '    return x, y, a\\n').format(op)
            ns = {}
            exec(src, ns)
            funcs[op] = ns['f']
        result = []
        for op, f in funcs.items():
            for a in lefts:
                for b in rights:
                    try:
                        r = f(copy.copy(a), b)  # `a op= b` changes a list or a set in place
                    except Exception as e:
                        r = (type(e).__name__, str(e))
                    result.append((op, repr(a), repr(b), repr(r)))
        result = len(result), result
    """)


def test_a_dunder_switching_tracing_on_in_an_operator_with_another_left_operand():
    check("""
        import sys
        events = []
        def tracer(frame, event, arg):
            events.append((frame.f_code.co_name, event, frame.f_lineno))
            return tracer
        class T:
            def __mod__(self, o):
                sys.settrace(tracer)
                return 'mod'
            def __add__(self, o):
                sys.settrace(tracer)
                return 'add'
        def f(t):
            x = t % 1
            y = 2
            z = t + y
            w = 3
            return x, z, w
        result = [f(T())]
        sys.settrace(None)
        result.append(f(T()))
        sys.settrace(None)
        result.append(events)
    """)
