//! Uploads a generated dataset to an S3-compatible bucket, once, under its digest.
//!
//! Objects land at `<prefix>/<dataset digest>/<path>`, so datasets of different sizes or seeds
//! never mix. Each object carries its blake3 as `x-amz-meta-blake3`; an object already present
//! with the right size and blake3 is skipped, and `manifest.json` goes last, so its presence
//! means the upload is complete and a re-upload costs one request.
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, GetOptions, ObjectStore, PutOptions,
    PutPayload, RetryConfig,
};

use super::manifest::{MANIFEST_FILE, Manifest};
use super::{DataError, FileEntry};

const BLAKE3_METADATA: &str = "blake3";
const PARALLEL_PUTS: usize = 4;

/// Credentials for the bucket, read from the environment only; `Debug` hides the secret.
#[derive(Clone)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl S3Credentials {
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and, if set, `AWS_SESSION_TOKEN`.
    pub fn from_env() -> Result<S3Credentials, DataError> {
        let required = |name| {
            std::env::var(name).map_err(|_| DataError::MissingEnv {
                name,
                hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the s3 endpoint",
            })
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
        let endpoint = std::env::var(ENDPOINT_ENV)
            .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
            .map_err(|_| DataError::MissingEnv {
                name: ENDPOINT_ENV,
                hint: "set it (or AWS_ENDPOINT_URL) to the s3 endpoint, e.g. `http://127.0.0.1:8333`",
            })?;
        S3Target::new(&endpoint, bucket, prefix)
    }

    /// The key prefix of one dataset: `<prefix>/<digest>`.
    pub fn dataset_prefix(&self, manifest: &Manifest) -> String {
        if self.prefix.is_empty() {
            manifest.digest.clone()
        } else {
            format!("{}/{}", self.prefix, manifest.digest)
        }
    }

    fn store(&self) -> Result<AmazonS3, DataError> {
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
            },
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
        };
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
        builder.build().map_err(|source| DataError::S3Config {
            endpoint: self.endpoint.clone(),
            source,
        })
    }
}

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadReceipt {
    /// `s3://<bucket>/<prefix>/<digest>`: the dataset root; trips are under `trips/`.
    pub url: String,
    pub prefix: String,
    pub files_uploaded: u32,
    pub files_skipped: u32,
    pub bytes_uploaded: u64,
}

/// Uploads the dataset at `dir`, described by `manifest`, unless it is already there.
pub async fn upload(
    dir: &Path,
    manifest: &Manifest,
    target: &S3Target,
) -> Result<UploadReceipt, DataError> {
    let store = target.store()?;
    let prefix = target.dataset_prefix(manifest);
    let key = |path: &str| ObjectPath::from(format!("{prefix}/{path}"));
    let fail = |path: &ObjectPath| {
        let key = path.to_string();
        move |source| classify(target, key, source)
    };
    // One listing checks endpoint, credentials and bucket before anything is sent.
    let root = ObjectPath::from(prefix.as_str());
    store
        .list_with_delimiter(Some(&root))
        .await
        .map_err(fail(&root))?;

    let manifest_path = dir.join(MANIFEST_FILE);
    let manifest_bytes = Bytes::from(
        tokio::fs::read(&manifest_path)
            .await
            .map_err(DataError::io(&manifest_path))?,
    );
    let manifest_entry = FileEntry {
        path: MANIFEST_FILE.to_string(),
        rows: 0,
        bytes: manifest_bytes.len() as u64,
        blake3: blake3::hash(&manifest_bytes).to_hex().to_string(),
    };
    let mut receipt = UploadReceipt {
        url: format!("s3://{}/{prefix}", target.bucket),
        prefix: prefix.clone(),
        files_uploaded: 0,
        files_skipped: 0,
        bytes_uploaded: 0,
    };
    let manifest_key = key(MANIFEST_FILE);
    if is_present(&store, &manifest_key, &manifest_entry)
        .await
        .map_err(fail(&manifest_key))?
    {
        receipt.files_skipped = manifest.files().count() as u32 + 1;
        return Ok(receipt);
    }

    let sent: Vec<Option<u64>> = futures::stream::iter(manifest.files())
        .map(|entry| {
            let (store, path) = (&store, key(&entry.path));
            async move {
                if is_present(store, &path, entry).await.map_err(fail(&path))? {
                    return Ok(None);
                }
                let bytes = read_checked(dir, entry).await?;
                put(store, &path, bytes, &entry.blake3)
                    .await
                    .map_err(fail(&path))?;
                Ok::<_, DataError>(Some(entry.bytes))
            }
        })
        .buffer_unordered(PARALLEL_PUTS)
        .try_collect()
        .await?;
    for bytes in sent {
        match bytes {
            Some(bytes) => {
                receipt.files_uploaded += 1;
                receipt.bytes_uploaded += bytes;
            }
            None => receipt.files_skipped += 1,
        }
    }
    put(
        &store,
        &manifest_key,
        manifest_bytes,
        &manifest_entry.blake3,
    )
    .await
    .map_err(fail(&manifest_key))?;
    receipt.files_uploaded += 1;
    receipt.bytes_uploaded += manifest_entry.bytes;
    Ok(receipt)
}

/// True if the object exists with the entry's size and blake3 metadata.
async fn is_present(
    store: &AmazonS3,
    path: &ObjectPath,
    entry: &FileEntry,
) -> Result<bool, object_store::Error> {
    let options = GetOptions {
        head: true,
        ..GetOptions::default()
    };
    match store.get_opts(path, options).await {
        Ok(found) => {
            let digest = found
                .attributes
                .get(&Attribute::Metadata(BLAKE3_METADATA.into()));
            Ok(found.meta.size == entry.bytes && digest.map(|d| d.as_ref()) == Some(&entry.blake3))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

async fn put(
    store: &AmazonS3,
    path: &ObjectPath,
    bytes: Bytes,
    blake3: &str,
) -> Result<(), object_store::Error> {
    let mut attributes = Attributes::new();
    attributes.insert(
        Attribute::Metadata(BLAKE3_METADATA.into()),
        blake3.to_string().into(),
    );
    let options = PutOptions {
        attributes,
        ..PutOptions::default()
    };
    store
        .put_opts(path, PutPayload::from_bytes(bytes), options)
        .await
        .map(|_| ())
}

/// Reads a dataset file and refuses to upload it unless it matches the manifest.
async fn read_checked(dir: &Path, entry: &FileEntry) -> Result<Bytes, DataError> {
    let path = dir.join(&entry.path);
    let bytes = tokio::fs::read(&path).await.map_err(DataError::io(&path))?;
    if bytes.len() as u64 != entry.bytes {
        return Err(DataError::SizeMismatch {
            path,
            expected: entry.bytes,
            actual: bytes.len() as u64,
        });
    }
    let actual = blake3::hash(&bytes).to_hex().to_string();
    if actual != entry.blake3 {
        return Err(DataError::DigestMismatch {
            path,
            expected: entry.blake3.clone(),
            actual,
        });
    }
    Ok(Bytes::from(bytes))
}

/// Turns a store error into one that says whether the endpoint, the credentials or the
/// bucket is wrong. object_store reports list failures as `Generic` with the HTTP status only in
/// the text of a private error type, so the status and S3 error code are read from the text.
fn classify(target: &S3Target, key: String, source: object_store::Error) -> DataError {
    let endpoint = target.endpoint.clone();
    let bucket = target.bucket.clone();
    let detail = source.to_string();
    let mut chain = Vec::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&source);
    while let Some(error) = cause {
        if let Some(http) = error.downcast_ref::<HttpError>()
            && matches!(http.kind(), HttpErrorKind::Connect | HttpErrorKind::Timeout)
        {
            return DataError::S3Unreachable { endpoint, detail };
        }
        chain.push(error.to_string());
        cause = error.source();
    }
    let text = chain.join(" ");
    let denied = matches!(
        source,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
    ) || ["status code: 401", "status code: 403"]
        .iter()
        .any(|status| text.contains(status));
    if text.contains("NoSuchBucket") {
        DataError::S3NoBucket { endpoint, bucket }
    } else if denied {
        DataError::S3Denied {
            endpoint,
            bucket,
            detail: s3_error_code(&text).unwrap_or(detail),
        }
    } else {
        DataError::S3 {
            endpoint,
            key,
            source,
        }
    }
}

/// The `<Code>…</Code>` of an S3 error body, e.g. `SignatureDoesNotMatch`.
fn s3_error_code(text: &str) -> Option<String> {
    let start = text.find("<Code>")? + "<Code>".len();
    let end = start + text[start..].find("</Code>")?;
    Some(text[start..end].to_string())
}
