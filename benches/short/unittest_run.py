"""Short program (standard library, 40-300 ms): a unittest TestCase of 1,500 generated tests run by TextTestRunner (subTest, assertRaises). Prints a digest."""
import unittest, io, hashlib
class T(unittest.TestCase):
    pass
def make(i):
    def test(self):
        self.assertEqual(sum(range(i)), i * (i - 1) // 2)
        self.assertIn(i % 7, range(7))
        with self.subTest(i=i):
            self.assertTrue(isinstance(str(i), str))
        if i % 50 == 0:
            with self.assertRaises(ZeroDivisionError):
                1 / 0
    return test
for i in range(1500):
    setattr(T, f"test_{i:04d}", make(i))
out = io.StringIO()
r = unittest.TextTestRunner(stream=out, verbosity=2).run(unittest.defaultTestLoader.loadTestsFromTestCase(T))
print(r.testsRun, len(r.failures), hashlib.sha256(out.getvalue().split("\n---")[0].encode()).hexdigest())
