#!/usr/bin/env python3
"""The row count each workload query must return, computed with pyarrow alone (no Spark).

Usage: python3 tests/workloads/expected.py DATASET_DIR OP   (OP: read, aggregate, join, window, write)
Prints one JSON object: {"schema": 1, "op": OP, "trips": <rows read>, "rows": <rows the query
returns>}; for `write`, also "rows_landed": the rows each execution must leave in PostgreSQL.
It is a second reading of rules/workloads/OP.sql, written from the SQL's meaning rather than
run through Spark, so the integration tests can compare it with the driver's result.json.
Needs only pyarrow (pure pyarrow.compute: no numpy, no pandas).
"""
import json
import os
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq


def trips(root, columns):
    dataset = ds.dataset(os.path.join(root, "trips"), format="parquet", partitioning="hive")
    return dataset.to_table(columns=columns)


def zone_ids(root):
    return pq.read_table(os.path.join(root, "zones", "taxi_zone_lookup.parquet"), columns=["LocationID"])["LocationID"]


def cents(amount):
    # round(x * 100) as a whole number of cents; amounts are in cents, so x * 100 is within
    # rounding error of an integer and the rounding mode never matters.
    return pc.cast(pc.round(pc.multiply(amount, 100.0)), pa.int64())


def read(root):
    t = trips(root, ["payment_type", "trip_distance", "fare_amount", "passenger_count"])
    keep = pc.and_(
        pc.and_(pc.equal(t["payment_type"], 1), pc.greater_equal(t["trip_distance"], 2.0)),
        pc.and_(pc.greater(t["fare_amount"], 0.0), pc.greater_equal(t["passenger_count"], 2)),
    )
    # A null passenger_count makes the predicate null, and SQL's WHERE drops it: so does filter().
    return t.num_rows, t.filter(keep).num_rows


def aggregate(root):
    t = trips(root, ["PULocationID", "DOLocationID"])
    return t.num_rows, t.group_by(["PULocationID", "DOLocationID"]).aggregate([]).num_rows


def join(root):
    t = trips(root, ["PULocationID", "DOLocationID", "fare_amount"])
    t = t.append_column("fare_cents", cents(t["fare_amount"]))
    routes = t.group_by(["PULocationID", "DOLocationID"]).aggregate([("fare_cents", "count"), ("fare_cents", "sum")])
    joined = t.join(routes, ["PULocationID", "DOLocationID"], join_type="inner")
    # Inner joins with the zone table on both ends: keep trips whose zones are both listed.
    ids = zone_ids(root)
    listed = pc.and_(pc.is_in(joined["PULocationID"], value_set=ids), pc.is_in(joined["DOLocationID"], value_set=ids))
    above = pc.greater(
        pc.multiply(joined["fare_cents"], joined["fare_cents_count"]),
        pc.multiply(joined["fare_cents_sum"], 2),
    )
    return t.num_rows, joined.filter(pc.and_(listed, above)).num_rows


def window(root):
    """Rows with rank() <= 3 by total_amount DESC per (pickup zone, pickup date).

    rank(x) = 1 + (rows of the group with a larger amount), so rank(x) <= 3 exactly when x is at
    least the group's third-largest amount counting duplicates (every row of a group of < 3).
    """
    t = trips(root, ["PULocationID", "tpep_pickup_datetime", "total_amount"])
    t = pa.table(
        {
            "zone": t["PULocationID"],
            "day": pc.cast(t["tpep_pickup_datetime"], pa.date32()),
            "amount": t["total_amount"],
        }
    )
    keys = [("zone", "ascending"), ("day", "ascending")]
    ordered = t.take(pc.sort_indices(t, sort_keys=keys + [("amount", "descending")]))
    sizes = t.group_by(["zone", "day"]).aggregate([("amount", "count")])
    sizes = sizes.take(pc.sort_indices(sizes, sort_keys=keys))
    counts = sizes["amount_count"]
    starts = pc.subtract(pc.cumulative_sum(counts), counts)
    third = pc.take(ordered["amount"], pc.add(starts, pc.min_element_wise(pc.subtract(counts, 1), 2)))
    groups = pa.table({"zone": sizes["zone"], "day": sizes["day"], "size": counts, "third": third})
    joined = t.join(groups, ["zone", "day"], join_type="inner")
    keep = pc.or_(pc.less(joined["size"], 3), pc.greater_equal(joined["amount"], joined["third"]))
    return t.num_rows, joined.filter(keep).num_rows


def write(root):
    t = trips(root, ["PULocationID", "tpep_pickup_datetime"])
    t = pa.table({"day": pc.cast(t["tpep_pickup_datetime"], pa.date32()), "zone": t["PULocationID"]})
    return t.num_rows, t.group_by(["day", "zone"]).aggregate([]).num_rows


OPS = {"read": read, "aggregate": aggregate, "join": join, "window": window, "write": write}


def main(argv):
    if len(argv) != 3 or argv[2] not in OPS:
        sys.exit(f"usage: {argv[0]} DATASET_DIR {{{','.join(OPS)}}}")
    root, op = argv[1], argv[2]
    if not os.path.isdir(os.path.join(root, "trips")):
        sys.exit(f"{root}: no trips/ directory; generate one with `loadbuild data generate --size 16MiB --out DIR`")
    total, rows = OPS[op](root)
    out = {"schema": 1, "op": op, "trips": total, "rows": rows}
    if op == "write":
        out["rows_landed"] = rows
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv)
