"""Load and validate a counts directory written by ``asnn simulate``.

The contract lives in :mod:`asnn_sim.graph.counts_schema` (standard library only, so importing
it here keeps ``hw_models`` free of torch and numba). This module checks a directory
against it once, at the boundary, so the energy model can trust what it receives.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asnn_sim.graph.counts_schema import (
    COUNT_COLUMNS,
    KEY_COLUMNS,
    LAYER_COLUMNS,
    SCHEMA_VERSION,
    manifest_problem,
)
from asnn_sim.graph.nodes import KINDS

from .errors import EnergyError

COUNT_NAMES: tuple[str, ...] = tuple(c.name for c in COUNT_COLUMNS)
KEY_NAMES: tuple[str, ...] = tuple(c.name for c in KEY_COLUMNS)
LAYER_NAMES: tuple[str, ...] = tuple(c.name for c in LAYER_COLUMNS)

# Layer columns that must be non-negative integers (the rest are strings).
LAYER_INT_NAMES: tuple[str, ...] = (
    "layer_index",
    "n_weights",
    "n_weight_sets",
    "n_bias",
    "n_neurons",
    "fan_in",
    "groups",
    "dense_macs_per_step",
    "dense_ops_per_step",
)
LAYER_STRING_NAMES: tuple[str, ...] = ("layer", "kind", "neuron", "inputs", "output", "in_shape", "out_shape", "kernel", "stride",
                                       "padding", "dilation")
#: Window columns that counts written before them lack: read as empty (the windows unknown,
#: which the per-core timing takes as reaching every core) rather than refused.
LAYER_WINDOW_NAMES: dict[str, Any] = {"kernel": "", "stride": "", "padding": "", "dilation": "", "groups": 0}
#: Kinds that can have rows: the counted node kinds of the registry.
LAYER_KINDS = tuple(k for k, cls in KINDS.items() if cls.COUNTED)
GRAPH_KINDS = ("snn", "ann")


@dataclass
class Counts:
    """A validated counts directory: the tables plus ``summary.json``.

    Attributes
    ----------
    counts : pandas.DataFrame
        One row per layer x timestep; every count column is an ``int64`` total over
        ``n_samples`` samples.
    layers : pandas.DataFrame
        One row per layer: static facts (shapes, weights, neurons).
    summary : dict
        The parsed ``summary.json``.
    path : pathlib.Path or None
        Where the tables were read from (None for tables built in memory).
    files : dict
        File names actually read (``counts``, ``layers``), for error messages.
    activity : hw_models.core_split.NeuronActivity or None
        Recorded spikes per neuron (a replay's recording, or ``recording.npz`` beside the
        tables): the per-core timing then splits each recorded group's work over its
        cores as the spikes fall (:mod:`hw_models.core_split`); None: evenly.
    """

    counts: pd.DataFrame
    layers: pd.DataFrame
    summary: dict[str, Any]
    path: Path | None = field(default=None)
    files: dict[str, str] = field(default_factory=dict)
    activity: Any = field(default=None)

    @property
    def n_samples(self) -> int:
        """Samples replayed: divide a total by this for the per-inference mean."""
        return int(self.summary["n_samples"])

    @property
    def timesteps(self) -> int:
        """Timesteps per inference (1 for an ANN replay)."""
        return int(self.summary["timesteps"])

    @property
    def kind(self) -> str:
        """``'snn'`` or ``'ann'`` (from ``summary.json``'s ``graph.kind``)."""
        return str(self.summary.get("graph", {}).get("kind", "snn"))

    def label(self, name: str) -> str:
        """File name used in error messages (with the directory when known)."""
        return str(self.path / name) if self.path is not None else name


def parse_shape(text: Any) -> tuple[int, ...]:
    """Parse a shape string such as ``'32x8x8'`` or ``'10'`` into a tuple of ints.

    Parameters
    ----------
    text : str or int
        The shape as written in ``layers.csv``.

    Returns
    -------
    tuple of int
        The dimensions, outermost (channels) first.

    Raises
    ------
    ValueError
        If no positive integer can be read.
    """
    if isinstance(text, (int, np.integer)):
        dims = (int(text),)
    else:
        dims = tuple(int(d) for d in re.findall(r"\d+", str(text)))
    if not dims or any(d <= 0 for d in dims):
        raise ValueError(f"cannot read a shape from {text!r}")
    return dims


def _read_table(directory: Path, stem: str) -> tuple[pd.DataFrame, str]:
    """Read ``stem.parquet`` (preferred) or ``stem.csv`` from ``directory``."""
    parquet, csv = directory / f"{stem}.parquet", directory / f"{stem}.csv"
    try:
        if parquet.is_file():
            return pd.read_parquet(parquet), str(parquet)
        if csv.is_file():
            return pd.read_csv(csv), str(csv)
    except Exception as exc:  # pyarrow and pandas raise many types; report them all alike
        raise EnergyError(f"{directory / stem}: cannot read table ({type(exc).__name__}: {exc})") from exc
    raise EnergyError(f"{directory}: missing {stem}.parquet (or {stem}.csv)")


def _check_int_columns(df: pd.DataFrame, names: tuple[str, ...], label: str) -> pd.DataFrame:
    """Require integer, non-negative, non-null columns; return a copy cast to int64."""
    out = df.copy()
    for name in names:
        col = out[name]
        if col.isna().any():
            raise EnergyError(f"{label}: column '{name}' has missing values")
        if not pd.api.types.is_integer_dtype(col):
            # CSV round trips can give floats; accept them only when they are whole numbers.
            if pd.api.types.is_float_dtype(col) and bool(np.all(np.mod(col.to_numpy(), 1) == 0)):
                col = col.astype("int64")
            else:
                raise EnergyError(f"{label}: column '{name}' must be int64 (got {col.dtype})")
        if (col < 0).any():
            raise EnergyError(f"{label}: column '{name}' has negative values")
        out[name] = col.astype("int64")
    return out


def _read_summary(directory: Path) -> dict[str, Any]:
    path = directory / "summary.json"
    if not path.is_file():
        raise EnergyError(f"{directory}: missing summary.json")
    try:
        summary = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise EnergyError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(summary, dict):
        raise EnergyError(f"{path}: top level must be a JSON object")
    return summary


def validate_summary(summary: dict[str, Any], label: str = "summary.json") -> dict[str, Any]:
    """Check the fields of ``summary.json`` the energy model relies on.

    Parameters
    ----------
    summary : dict
        Parsed ``summary.json``.
    label : str
        File name for error messages.

    Returns
    -------
    dict
        The same summary (unchanged).

    Raises
    ------
    EnergyError
        If ``schema_version``, ``n_samples``, ``timesteps`` or ``graph.kind`` is missing
        or wrong.
    """
    version = summary.get("schema_version")
    if version == 1:
        raise EnergyError(f"{label}: schema_version 1 (counts of asnn-sim 0.1, one row per synaptic layer); "
                          f"replay the graph again with this version's asnn simulate to get schema {SCHEMA_VERSION}")
    if version == 2:
        raise EnergyError(f"{label}: schema_version 2 (counts without the input encoder's rows); "
                          f"replay the graph again with this version's asnn simulate to get schema {SCHEMA_VERSION}")
    if version != SCHEMA_VERSION:
        raise EnergyError(f"{label}: schema_version must be {SCHEMA_VERSION} (got {version!r})")
    for key in ("n_samples", "timesteps"):
        value = summary.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise EnergyError(f"{label}: '{key}' must be a positive integer (got {value!r})")
    graph = summary.get("graph", {"kind": "snn"})
    kind = graph.get("kind") if isinstance(graph, dict) else None
    if kind not in GRAPH_KINDS:
        raise EnergyError(f"{label}: 'graph.kind' must be 'snn' or 'ann' (got {kind!r})")
    return summary


def validate(counts: Counts) -> Counts:
    """Validate a :class:`Counts` built in memory or read from disk.

    Checks columns, dtypes (``int64``), non-negativity, ``n_samples`` agreement with
    ``summary.json``, the timestep range, and that every counted layer is described in
    the layers table.

    Parameters
    ----------
    counts : Counts
        Tables to check.

    Returns
    -------
    Counts
        A new object whose tables are copies with count columns cast to ``int64``.

    Raises
    ------
    EnergyError
        On the first problem found, naming the file and the column.
    """
    summary = validate_summary(counts.summary, counts.label("summary.json"))
    c_label = counts.label(counts.files.get("counts", "counts.parquet"))
    l_label = counts.label(counts.files.get("layers", "layers.csv"))

    table = counts.counts
    missing = [n for n in KEY_NAMES + COUNT_NAMES if n not in table.columns]
    if missing:
        raise EnergyError(f"{c_label}: missing column '{missing[0]}'")
    table = _check_int_columns(table, tuple(n for n in KEY_NAMES if n not in ("layer", "kind")) + COUNT_NAMES, c_label)
    table["layer"] = table["layer"].astype(str)
    table["kind"] = table["kind"].astype(str)
    if table.empty:
        raise EnergyError(f"{c_label}: table has no rows")
    n_samples = int(summary["n_samples"])
    if (table["n_samples"] != n_samples).any():
        raise EnergyError(f"{c_label}: column 'n_samples' disagrees with summary.json n_samples={n_samples}")
    timesteps = int(summary["timesteps"])
    if (table["t"] >= timesteps).any():
        raise EnergyError(f"{c_label}: column 't' has values >= timesteps={timesteps}")
    if (table["neurons_touched"] > table["neurons"]).any():
        raise EnergyError(f"{c_label}: column 'neurons_touched' exceeds 'neurons'")
    if table.duplicated(["layer", "t"]).any():
        raise EnergyError(f"{c_label}: duplicate (layer, t) rows")

    layers = counts.layers
    missing = [n for n in LAYER_NAMES if n not in layers.columns and n not in LAYER_WINDOW_NAMES]
    if missing:
        raise EnergyError(f"{l_label}: missing column '{missing[0]}'")
    layers = layers.assign(**{n: v for n, v in LAYER_WINDOW_NAMES.items() if n not in layers.columns})
    layers = _check_int_columns(layers, LAYER_INT_NAMES, l_label)
    for name in LAYER_STRING_NAMES:
        # CSV turns empty strings into NaN; they are empty strings
        layers[name] = layers[name].astype(object).fillna("").astype(str)
    bad_kind = sorted(set(layers["kind"]) - set(LAYER_KINDS))
    if bad_kind:
        raise EnergyError(f"{l_label}: column 'kind' has unknown value {bad_kind[0]!r} (expected one of {', '.join(LAYER_KINDS)})")
    for name in ("in_shape", "out_shape"):
        for value in layers[name]:
            if name == "in_shape" and value == "":
                continue  # a node without inputs
            try:
                parse_shape(value)
            except ValueError:
                raise EnergyError(f"{l_label}: column '{name}' has unreadable shape {value!r}") from None
    for name in ("kernel", "stride", "padding", "dilation"):
        bad = [v for v in layers[name] if v and not re.fullmatch(r"\d+x\d+", v)]
        if bad:
            raise EnergyError(f"{l_label}: column '{name}' has unreadable value {bad[0]!r} (expected rows x columns, e.g. '3x3')")
    if (layers["n_weight_sets"] < 1).any():
        raise EnergyError(f"{l_label}: column 'n_weight_sets' must be >= 1")
    if layers["layer"].duplicated().any():
        raise EnergyError(f"{l_label}: duplicate layer names")
    unknown = sorted(set(table["layer"]) - set(layers["layer"]))
    if unknown:
        raise EnergyError(f"{c_label}: layer {unknown[0]!r} is not in layers table")
    kind_of = dict(zip(layers["layer"], layers["kind"]))
    wrong = table[table["kind"] != table["layer"].map(kind_of)]
    if len(wrong):
        row = wrong.iloc[0]
        raise EnergyError(f"{c_label}: layer {row['layer']!r} has kind {row['kind']!r} but the layers table says {kind_of[row['layer']]!r}")

    return Counts(
        counts=table.sort_values(["layer_index", "t"]).reset_index(drop=True),
        layers=layers.sort_values("layer_index").reset_index(drop=True),
        summary=summary,
        path=counts.path,
        files=dict(counts.files),
        activity=counts.activity,
    )


def load_counts(path: str | Path) -> Counts:
    """Read and validate a counts directory.

    Parameters
    ----------
    path : str or pathlib.Path
        Directory holding ``counts.parquet`` (or ``counts.csv``), ``layers.csv`` (or
        ``layers.parquet``) and ``summary.json``.

    Returns
    -------
    Counts
        Validated tables; count columns are ``int64`` totals over ``n_samples``.

    Raises
    ------
    EnergyError
        If the directory or a file is missing, or a column is absent, of the wrong type,
        or negative; the message names the file and the column.

    Examples
    --------
    A counts folder as ``asnn simulate --out`` writes it (here from synthetic counts):

    >>> import tempfile
    >>> from hw_models.synthetic import synthetic_counts, write_counts_dir
    >>> folder = write_counts_dir(synthetic_counts(n_samples=8, timesteps=4), tempfile.mkdtemp())
    >>> c = load_counts(folder)
    >>> c.n_samples, c.timesteps
    (8, 4)
    """
    directory = Path(path)
    where = "asnn energy reads the folder written by asnn simulate --out"
    if directory.is_file():
        raise EnergyError(f"{directory} is a file, not a counts directory ({where})")
    if not directory.is_dir():
        raise EnergyError(f"{directory}: counts directory not found ({where})")
    has_table = any((directory / name).is_file() for name in ("counts.parquet", "counts.csv"))
    if not has_table and (directory / "model.pt").is_file():
        raise EnergyError(f"{directory} is a training run, not a counts directory ({where}; replay the run with asnn export, then asnn simulate)")
    if not has_table and not (directory / "summary.json").is_file():
        raise EnergyError(f"{directory} is not a counts directory: it holds no summary.json or counts table ({where})")
    problem = manifest_problem(directory)
    if problem:
        raise EnergyError(f"{directory}: {problem}; replay it again with asnn simulate")
    summary = _read_summary(directory)
    table, counts_file = _read_table(directory, "counts")
    layers_path = directory / "layers.csv"
    if layers_path.is_file():
        try:
            layers = pd.read_csv(layers_path)
        except Exception as exc:
            raise EnergyError(f"{layers_path}: cannot read table ({type(exc).__name__}: {exc})") from exc
        layers_file = str(layers_path)
    else:
        layers, layers_file = _read_table(directory, "layers")
    files = {"counts": Path(counts_file).name, "layers": Path(layers_file).name}
    from .core_split import NeuronActivity

    activity = NeuronActivity.load(directory / "recording.npz")  # asnn simulate --record
    return validate(Counts(counts=table, layers=layers, summary=summary, path=directory, files=files, activity=activity))


def layer_geometry(layers: pd.DataFrame) -> pd.DataFrame:
    """Derived per-node numbers the energy model needs, indexed by node name.

    Parameters
    ----------
    layers : pandas.DataFrame
        A validated layers table.

    Returns
    -------
    pandas.DataFrame
        Columns ``in_elements`` (elements of one sample's first input), ``out_elements``,
        ``c_in``, ``c_out`` (channels, or features for a vector), ``kernel_area``
        (``fan_in x groups / c_in`` for a conv, groups 1 where the table does not say; 1
        otherwise), plus the original columns.
    """
    geo = layers.set_index("layer").copy()
    ins = [parse_shape(s) if str(s) else (0,) for s in geo["in_shape"]]
    outs = [parse_shape(s) for s in geo["out_shape"]]
    geo["in_elements"] = [math.prod(s) for s in ins]
    geo["out_elements"] = [math.prod(s) for s in outs]
    geo["c_in"] = [s[0] for s in ins]
    geo["c_out"] = [s[0] for s in outs]
    is_conv = geo["kind"] == "conv2d"
    c_in = geo["c_in"].where(geo["c_in"] > 0, 1)
    groups = geo["groups"].where(geo["groups"] > 0, 1) if "groups" in geo else 1
    geo["kernel_area"] = np.where(is_conv, geo["fan_in"] * groups / c_in, 1.0)
    return geo
