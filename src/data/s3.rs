//! Where datasets are uploaded: an S3-compatible endpoint, bucket and key prefix, with
//! credentials taken from the environment only (never from arguments or files), and the
//! `object_store` client built from them with short retries so a wrong endpoint fails fast.
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::{BackoffConfig, ClientOptions, RetryConfig};

use super::{DataError, Manifest};

/// Credentials for the bucket, read from the environment only; `Debug` hides the secret.
#[derive(Clone)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

impl S3Credentials {
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and, if set, `AWS_SESSION_TOKEN`.
    pub fn from_env() -> Result<S3Credentials, DataError> {
        let required = |name| {
            std::env::var(name)
                .map_err(|_| DataError::MissingEnv { name, hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the s3 endpoint" })
        };
        Ok(S3Credentials {
            access_key_id: required("AWS_ACCESS_KEY_ID")?,
            secret_access_key: required("AWS_SECRET_ACCESS_KEY")?,
            session_token: std::env::var("AWS_SESSION_TOKEN").ok(),
        })
    }
}

/// Where datasets go: an endpoint such as `http://127.0.0.1:8333`, a bucket and a key prefix.
#[derive(Debug, Clone)]
pub struct S3Target {
    pub endpoint: String,
    pub bucket: String,
    /// Key prefix under which each dataset gets a folder named by its digest.
    pub prefix: String,
    pub region: String,
    pub credentials: S3Credentials,
}

/// The environment variable naming the endpoint when none is given.
pub const ENDPOINT_ENV: &str = "LOADBUILD_S3_ENDPOINT";

impl S3Target {
    /// A target whose credentials come from the environment.
    pub fn new(endpoint: &str, bucket: &str, prefix: &str) -> Result<S3Target, DataError> {
        Ok(S3Target {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_string()),
            credentials: S3Credentials::from_env()?,
        })
    }

    /// Like `new`, with the endpoint from `LOADBUILD_S3_ENDPOINT` (or `AWS_ENDPOINT_URL`).
    pub fn from_env(bucket: &str, prefix: &str) -> Result<S3Target, DataError> {
        let endpoint = std::env::var(ENDPOINT_ENV).or_else(|_| std::env::var("AWS_ENDPOINT_URL")).map_err(|_| DataError::MissingEnv {
            name: ENDPOINT_ENV,
            hint: "set it (or AWS_ENDPOINT_URL) to the s3 endpoint, e.g. `http://127.0.0.1:8333`",
        })?;
        S3Target::new(&endpoint, bucket, prefix)
    }

    /// The key prefix of one dataset: `<prefix>/<digest>`.
    pub fn dataset_prefix(&self, manifest: &Manifest) -> String {
        if self.prefix.is_empty() { manifest.digest.clone() } else { format!("{}/{}", self.prefix, manifest.digest) }
    }

    pub(crate) fn store(&self) -> Result<AmazonS3, DataError> {
        let retry = RetryConfig {
            backoff: BackoffConfig { init_backoff: Duration::from_millis(100), max_backoff: Duration::from_secs(2), base: 2.0 },
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
        };
        crate::http::ensure_tls();
        let options = ClientOptions::new()
            .with_allow_http(self.endpoint.starts_with("http://"))
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(Duration::from_secs(300));
        let mut builder = AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_access_key_id(&self.credentials.access_key_id)
            .with_secret_access_key(&self.credentials.secret_access_key)
            .with_virtual_hosted_style_request(false)
            .with_client_options(options)
            .with_retry(retry);
        if let Some(token) = &self.credentials.session_token {
            builder = builder.with_token(token);
        }
        builder.build().map_err(|source| DataError::S3Config { endpoint: self.endpoint.clone(), source })
    }
}
