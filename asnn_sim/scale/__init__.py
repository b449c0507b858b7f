"""Replays spread over processes and machines: ``cluster`` (Dask: shards as tasks, lost
workers re-run, exact merges). Thread sizing is in :mod:`asnn_sim.util.threads`, below
the simulator that uses it.
"""
