"""``python -m harness``: see :mod:`harness.cli`."""
import os
import sys

from harness.cli import main

if __name__ == "__main__":
    try:
        try:
            code = main()
        finally:
            # flushed here, inside the try (also when main exits): a pipe closed after the last write would otherwise
            # fail in the interpreter's exit flush, which Python reports as "Exception ignored ... BrokenPipeError"
            sys.stdout.flush()
    except BrokenPipeError:
        # the reader stopped early (`| head`): no traceback; stdout goes nowhere so the exit's flush cannot fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    sys.exit(code)
