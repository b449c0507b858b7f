"""``python -m asnn_sim.cli``: the ``asnn`` command under a module name, for torchrun.

torchrun starts a Python module (``-m``) or a script in each process; this one is the
``asnn`` command itself (:func:`asnn_sim.app.cli.main`), so data-parallel training is::

    torchrun --nproc-per-node 2 --standalone -m asnn_sim.cli train --batch-size 64 --out runs/ddp

It is part of the top layer, beside :mod:`asnn_sim.app`: nothing in the package imports
it. See docs/ddp.md.
"""

from __future__ import annotations

import sys

from asnn_sim.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
