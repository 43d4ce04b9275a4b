//! The one error type of the dataset generator, verifier and uploader.
//!
//! Every variant names the file, size or endpoint it is about, so a message read in a CI log
//! says what to fix without a backtrace.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read size `{input}`: {reason}")]
    BadSize { input: String, reason: &'static str },

    #[error("target size `{target_bytes}` bytes is below the minimum of `{min_bytes}` bytes")]
    TargetTooSmall { target_bytes: u64, min_bytes: u64 },

    #[error("dataset spec field `{field}` {reason}")]
    BadSpec { field: &'static str, reason: &'static str },

    #[error("output directory `{path}` is not empty; generate into an empty or new directory")]
    OutputNotEmpty { path: PathBuf },

    #[error("i/o error on `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("parquet error writing `{path}`: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },

    #[error("dataset generation was interrupted; the partial output was not kept")]
    Interrupted,

    #[error("the upload was interrupted; the next upload resumes with the files already sent")]
    UploadInterrupted,

    #[error("generated `{actual_bytes}` bytes, outside ±10% of the target `{target_bytes}` bytes")]
    SizeMissed { target_bytes: u64, actual_bytes: u64 },

    #[error("manifest `{path}` is not valid: {reason}")]
    BadManifest { path: PathBuf, reason: String },

    #[error("dataset file `{path}` is missing")]
    FileMissing { path: PathBuf },

    #[error("dataset file `{path}` has `{actual}` bytes, the manifest says `{expected}`")]
    SizeMismatch { path: PathBuf, expected: u64, actual: u64 },

    #[error("dataset file `{path}` has blake3 `{actual}`, the manifest says `{expected}`")]
    DigestMismatch { path: PathBuf, expected: String, actual: String },

    #[error("environment variable `{name}` is not set; {hint}")]
    MissingEnv { name: &'static str, hint: &'static str },

    #[error("cannot configure the s3 client for endpoint `{endpoint}`: {source}")]
    S3Config {
        endpoint: String,
        #[source]
        source: object_store::Error,
    },

    #[error("s3 endpoint `{endpoint}` cannot be reached: {detail}")]
    S3Unreachable { endpoint: String, detail: String },

    #[error(
        "s3 endpoint `{endpoint}` refused the credentials for bucket `{bucket}` \
         (check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY): {detail}"
    )]
    S3Denied { endpoint: String, bucket: String, detail: String },

    #[error("s3 bucket `{bucket}` does not exist at endpoint `{endpoint}`")]
    S3NoBucket { endpoint: String, bucket: String },

    #[error("s3 request for `{key}` at endpoint `{endpoint}` failed: {source}")]
    S3 {
        endpoint: String,
        key: String,
        #[source]
        source: object_store::Error,
    },
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> DataError {
        let path = path.into();
        move |source| DataError::Io { path, source }
    }
}
