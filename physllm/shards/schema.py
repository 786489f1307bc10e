"""The shard schema: one Parquet row per clip, tensors as Arrow `fixed_shape_tensor` columns.

The columns are the contract between the precompute pipeline and the trainer
(docs/ARCHITECTURE.md, "shards/"). Tensor columns keep their shape in the Arrow type, so a
reader turns a whole column into one numpy array (B, ...) without a Python loop per row.
"""

from __future__ import annotations

import json
from typing import Sequence

import numpy as np
import pyarrow as pa

# Bump when a column is added, removed or changes meaning: readers refuse other versions.
SCHEMA_VERSION = 3  # 2: the `roi` column; 3: `background_mean`
NUM_LAGS = 5  # Time-LLM's prompt gives the top 5 autocorrelation lags

STRING_COLUMNS = ("dataset", "subject", "session", "video_id")
INT_COLUMNS = ("clip_index", "first_frame", "num_frames")


def feature_column(stage: int) -> str:
    """Name of PhysNet encoder stage `stage` (1-based) in a shard: feat_s1 … feat_s4."""
    return f"feat_s{stage}"


def tensor_type(shape: Sequence[int], dtype=pa.float32()) -> pa.FixedShapeTensorType:
    return pa.fixed_shape_tensor(dtype, [int(n) for n in shape])


def shard_schema(clip_frames: int, feature_shapes: Sequence[tuple[int, int]]) -> pa.Schema:
    """Schema of a shard of clips of `clip_frames` frames with PhysNet feature maps of
    `feature_shapes` [(channels, T_s), ...], one per encoder stage."""
    t = clip_frames
    fields = [pa.field(name, pa.string(), nullable=False) for name in STRING_COLUMNS]
    fields += [pa.field(name, pa.int32(), nullable=False) for name in INT_COLUMNS]
    fields += [
        pa.field("fps", pa.float32(), nullable=False),
        pa.field("ppg", tensor_type([t]), nullable=False),  # ground truth at frame times, raw
        pa.field("hr", pa.float32()),  # null where the dataset gives no heart rate
        pa.field("backbone_wave", tensor_type([t]), nullable=False),  # DiffNormalized domain
    ]
    fields += [pa.field(feature_column(i + 1), tensor_type(shape), nullable=False)
               for i, shape in enumerate(feature_shapes)]
    fields += [
        pa.field("rgb_mean", tensor_type([t, 3]), nullable=False),
        # mean RGB outside the crop box per frame (cues.quality.lit_ratio); NaN rows: none to read
        pa.field("background_mean", tensor_type([t, 3]), nullable=False),
        pa.field("face_fraction", pa.float32(), nullable=False),
        pa.field("roi", pa.string(), nullable=False),  # region read: "face", "skin" (no face found) or "none"
        pa.field("keyframe_index", pa.int32(), nullable=False),
        pa.field("description", pa.string(), nullable=False),
        pa.field("stats_min", pa.float32(), nullable=False),
        pa.field("stats_max", pa.float32(), nullable=False),
        pa.field("stats_median", pa.float32(), nullable=False),
        pa.field("stats_trend", pa.float32(), nullable=False),
        pa.field("stats_lags", tensor_type([NUM_LAGS], pa.int32()), nullable=False),
        pa.field("stats_text", pa.string(), nullable=False),
        pa.field("metadata", pa.string(), nullable=False),  # JSON of the record's metadata
    ]
    return pa.schema(fields)


def schema_for_rows(rows: Sequence[dict]) -> pa.Schema:
    """The shard schema that fits these rows: clip length from `ppg`, feature shapes from feat_s*."""
    first = rows[0]
    stages = sum(1 for name in first if name.startswith("feat_s"))
    shapes = [tuple(np.shape(first[feature_column(s)])) for s in range(1, stages + 1)]
    return shard_schema(len(first["ppg"]), shapes)


def clip_frames(schema: pa.Schema) -> int:
    return schema.field("ppg").type.shape[0]


def feature_shapes(schema: pa.Schema) -> list[tuple[int, ...]]:
    return [tuple(f.type.shape) for f in schema if f.name.startswith("feat_s")]


def rows_to_table(rows: Sequence[dict], schema: pa.Schema) -> pa.Table:
    """Rows (dicts of scalars, strings and numpy arrays) → a table of `schema`, column by column.

    Tensor columns are stacked once into (B, ...) and wrapped without copying per row; a row
    whose array has the wrong shape fails here with the column's name, not later in a reader.
    """
    columns = []
    for field in schema:
        try:
            values = [row[field.name] for row in rows]
        except KeyError:
            raise ValueError(f"a row lacks column {field.name!r}") from None
        try:
            if isinstance(field.type, pa.FixedShapeTensorType):
                array = tensor_array(values, field)
            else:
                array = pa.array(values, type=field.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as error:
            raise ValueError(f"column {field.name!r} ({field.type}): {error}") from None
        if array.null_count and not field.nullable:
            raise ValueError(f"column {field.name!r} has a missing value; only 'hr' may be None")
        columns.append(array)
    return pa.Table.from_arrays(columns, schema=schema)


def tensor_array(values: Sequence[np.ndarray], field: pa.Field) -> pa.FixedShapeTensorArray:
    dtype = field.type.value_type.to_pandas_dtype()
    stacked = np.stack([np.asarray(v, dtype=dtype) for v in values])  # (B, *shape)
    if stacked.shape[1:] != tuple(field.type.shape):
        raise ValueError(f"column {field.name!r}: expected arrays of shape "
                         f"{tuple(field.type.shape)}, got {stacked.shape[1:]}")
    return pa.FixedShapeTensorArray.from_numpy_ndarray(np.ascontiguousarray(stacked))


def to_numpy(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A tensor column → one numpy array (B, *shape); a scalar column → (B,). No per-row loop."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if isinstance(column.type, pa.FixedShapeTensorType):
        return column.to_numpy_ndarray()
    return column.to_numpy(zero_copy_only=False)


# Parquet key-value metadata: every value a JSON string under "physllm.<name>".
METADATA_PREFIX = "physllm."
FILE_METADATA_FIELDS = ("schema_version", "version", "config", "provenance", "dataset_description")


def encode_file_metadata(meta: dict) -> dict[str, str]:
    return {METADATA_PREFIX + name: json.dumps(value, sort_keys=True) for name, value in meta.items()}


def decode_file_metadata(kv: dict[bytes, bytes] | None) -> dict:
    """The physllm.* entries of a Parquet footer, JSON-decoded, under their short names."""
    prefix = METADATA_PREFIX.encode()
    return {k[len(prefix):].decode(): json.loads(v) for k, v in (kv or {}).items()
            if k.startswith(prefix)}
