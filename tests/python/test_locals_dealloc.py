"""The deallocation paths of STORE_FAST (alone and as a superinstruction's second half) and
POP_TOP: out of line, a tail call that goes on with the next instruction (stencil.h
DEALLOC_THEN_CONTINUE, csrc cpjit_dealloc_then / cpjit_tail_dealloc_then). A finalizer sees the
frame as in plain CPython, and the path leaves nothing on the C stack."""
import pytest

from test_frame_compat import differential

FINALIZERS = r'''
import sys
seen = []
class Tell:
    def __init__(self, name): self.name = name
    def __del__(self):
        f = sys._getframe(1)
        seen.append((self.name, f.f_code.co_name, f.f_lineno, f.f_lasti))

def stores(n):
    a = Tell('a0')
    b = Tell('b0')
    for i in range(n):
        a = Tell('a%d' % i)
        b = Tell('b%d' % i)
        a = b = None
        (a,
         b) = Tell('x'), Tell('y')
    a = b = 0   # (what dies at a return is another matter: test_frame_compat)
    return 0

def pops(n):
    for i in range(n):
        Tell('p%d' % i)
        [Tell('q')]
    return 0

def tails():
    x = Tell('x')
    x = 1
    y = x
    return y

def main():
    for round in range(12):
        out = [stores(2), pops(2), tails()]
        print(round, out, seen)
        seen.clear()
main()
'''


@pytest.mark.parametrize("threshold", [0, 3, 256])
def test_finalizers_run_by_stores_and_pops_see_the_frame(threshold):
    differential(FINALIZERS, threshold=threshold)


def test_locals_deallocs_do_not_grow_the_c_stack():
    # Each deallocation leaves through a helper that tail-calls the next instruction's code: if
    # it were a call, 300,000 of them in one frame would need megabytes of C stack.
    out = differential("""
class D:
    pass
def churn(n):
    x = None
    for i in range(n):
        x = D()          # STORE_FAST frees the previous D
        D()              # POP_TOP frees this one
        y = x = D()      # the second half of STORE_FAST__STORE_FAST frees one too
    return 'done'
print(churn(300_000))
""", stack_limit=1 << 20)
    assert out == "done\n"
