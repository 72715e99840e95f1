"""``python -m harness``: see :mod:`harness.cli`."""
import os
import sys

from harness.cli import main

if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        # the reader stopped early (`| head`): no traceback; stdout goes nowhere so the exit's flush cannot fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
