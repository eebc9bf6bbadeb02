"""python -m cpjit: run a program with the JIT, exactly as `python` runs it (see _runner.py).

    python -m cpjit script.py [args]
    python -m cpjit -m module [args]
    python -m cpjit -c code [args]
"""
if __name__ == "__main__":
    from cpjit._runner import main

    main()  # the __main__ module becomes the program's: nothing after this may use a global
