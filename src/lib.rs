//! loadbuild: a declarative, content-addressed build graph for load-testing Apache Spark.
//!
//! The code map in miniature (see `docs/ARCHITECTURE.md` for the long form):
pub mod cli; // clap types and one small function per subcommand
pub mod data; // NYC-taxi dataset: seeded Parquet generator, manifest, verify, S3 upload
