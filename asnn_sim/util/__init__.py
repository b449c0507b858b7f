"""The bottom layer: tools every other package uses, knowing nothing about networks.

``atomic`` (files written whole or not at all; full disks named), ``folders`` (one writer
per output folder, staged and swapped in), ``names`` (did-you-mean), ``progress`` (bars on a
terminal, lines elsewhere), ``threads`` (one OpenMP runtime shared by torch and Numba; the
simulator and training both size their threads here, hence here and not in
:mod:`asnn_sim.scale`) and ``allocator`` (glibc malloc thresholds for training).
"""
