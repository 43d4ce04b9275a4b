#!/usr/bin/env python3
"""Creates the Iceberg tables `ext=iceberg` cells read: NAMESPACE.trips and NAMESPACE.zones, from a
dataset's Parquet (its `trips/` tree and zone table), once per dataset.

Each table records the Parquet location it was made from (table property `loadbuild.source`):
a table made from the same location is left alone, one made from another (a new dataset under
a new digest) is replaced. Runs as a plain Spark application with the Iceberg catalog configured
(the parent workflow's `tables` task); exits 0 when both tables hold the dataset, 1 otherwise.
"""
import argparse
import sys

SOURCE = "loadbuild.source"


def parser():
    p = argparse.ArgumentParser(prog="tables.py", description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, metavar="DATASET_DIR", help="dataset root holding trips/ and zones/ (a URI Spark can read)")
    p.add_argument("--tables", required=True, metavar="CATALOG.NAMESPACE", help="where the tables go, e.g. lb.ds_1gb")
    return p


def sources(data):
    root = data.rstrip("/")
    return {"trips": root + "/trips", "zones": root + "/zones/taxi_zone_lookup.parquet"}


def made_from(spark, table):
    """The Parquet location `table` was made from, or None if it does not exist or says nothing."""
    if not spark.catalog.tableExists(table):
        return None
    props = {row[0]: row[1] for row in spark.sql(f"SHOW TBLPROPERTIES {table}").collect()}
    return props.get(SOURCE)


def main(argv=None):
    args = parser().parse_args(argv)
    if args.tables.count(".") != 1:
        print(f"tables.py: error: --tables `{args.tables}` must be CATALOG.NAMESPACE", file=sys.stderr)
        return 2
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName(f"loadbuild-tables-{args.tables}").getOrCreate()
    try:
        spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {args.tables}")
        for name, path in sources(args.data).items():
            table = f"{args.tables}.{name}"
            if made_from(spark, table) == path:
                print(f"tables.py: {table} already holds {path}", file=sys.stderr)
                continue
            rows = spark.read.parquet(path)
            rows.writeTo(table).using("iceberg").tableProperty(SOURCE, path).tableProperty("format-version", "2").createOrReplace()
            print(f"tables.py: {table} made from {path}: {spark.table(table).count()} rows", file=sys.stderr)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
