//! Uploads a generated dataset to an S3-compatible bucket, once, under its digest.
//!
//! Objects land at `<prefix>/<dataset digest>/<path>`, so datasets of different sizes or seeds
//! never mix. Each object carries its blake3 as `x-amz-meta-blake3`; an object already present
//! with the right size and blake3 is skipped, and `manifest.json` goes last, so its presence
//! means the upload is complete and a re-upload costs one request.
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3;
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path as ObjectPath;
use object_store::{Attribute, Attributes, GetOptions, ObjectStore, PutOptions, PutPayload};

use super::manifest::{MANIFEST_FILE, Manifest};
use super::s3::S3Target;
use super::{DataError, FileEntry};

const BLAKE3_METADATA: &str = "blake3";
const PARALLEL_PUTS: usize = 4;

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
pub async fn upload(dir: &Path, manifest: &Manifest, target: &S3Target) -> Result<UploadReceipt, DataError> {
    upload_unless(dir, manifest, target, &AtomicBool::new(false)).await
}

/// [`upload`], stopping with `DataError::UploadInterrupted` soon after `cancel` is set (checked every
/// 100 ms): puts in flight are dropped, which S3 never turns into an object, and `manifest.json`
/// is not sent, so the next upload resumes with the files that did land.
pub async fn upload_unless(dir: &Path, manifest: &Manifest, target: &S3Target, cancel: &AtomicBool) -> Result<UploadReceipt, DataError> {
    tokio::select! {
        receipt = upload_all(dir, manifest, target) => receipt,
        () = cancelled(cancel) => Err(DataError::UploadInterrupted),
    }
}

/// Resolves once `cancel` is set.
async fn cancelled(cancel: &AtomicBool) {
    while !cancel.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn upload_all(dir: &Path, manifest: &Manifest, target: &S3Target) -> Result<UploadReceipt, DataError> {
    let store = target.store()?;
    let prefix = target.dataset_prefix(manifest);
    let key = |path: &str| ObjectPath::from(format!("{prefix}/{path}"));
    let fail = |path: &ObjectPath| {
        let key = path.to_string();
        move |source| classify(target, key, source)
    };
    // One listing checks endpoint, credentials and bucket before anything is sent.
    let root = ObjectPath::from(prefix.as_str());
    store.list_with_delimiter(Some(&root)).await.map_err(fail(&root))?;

    let manifest_path = dir.join(MANIFEST_FILE);
    let manifest_bytes = Bytes::from(tokio::fs::read(&manifest_path).await.map_err(DataError::io(&manifest_path))?);
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
    if is_present(&store, &manifest_key, &manifest_entry).await.map_err(fail(&manifest_key))? {
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
                put(store, &path, bytes, &entry.blake3).await.map_err(fail(&path))?;
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
    put(&store, &manifest_key, manifest_bytes, &manifest_entry.blake3).await.map_err(fail(&manifest_key))?;
    receipt.files_uploaded += 1;
    receipt.bytes_uploaded += manifest_entry.bytes;
    Ok(receipt)
}

/// True if the object exists with the entry's size and blake3 metadata.
async fn is_present(store: &AmazonS3, path: &ObjectPath, entry: &FileEntry) -> Result<bool, object_store::Error> {
    let options = GetOptions { head: true, ..GetOptions::default() };
    match store.get_opts(path, options).await {
        Ok(found) => {
            let digest = found.attributes.get(&Attribute::Metadata(BLAKE3_METADATA.into()));
            Ok(found.meta.size == entry.bytes && digest.map(|d| d.as_ref()) == Some(&entry.blake3))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

async fn put(store: &AmazonS3, path: &ObjectPath, bytes: Bytes, blake3: &str) -> Result<(), object_store::Error> {
    let mut attributes = Attributes::new();
    attributes.insert(Attribute::Metadata(BLAKE3_METADATA.into()), blake3.to_string().into());
    let options = PutOptions { attributes, ..PutOptions::default() };
    store.put_opts(path, PutPayload::from_bytes(bytes), options).await.map(|_| ())
}

/// Reads a dataset file and refuses to upload it unless it matches the manifest.
async fn read_checked(dir: &Path, entry: &FileEntry) -> Result<Bytes, DataError> {
    let path = dir.join(&entry.path);
    let bytes = tokio::fs::read(&path).await.map_err(DataError::io(&path))?;
    if bytes.len() as u64 != entry.bytes {
        return Err(DataError::SizeMismatch { path, expected: entry.bytes, actual: bytes.len() as u64 });
    }
    let actual = blake3::hash(&bytes).to_hex().to_string();
    if actual != entry.blake3 {
        return Err(DataError::DigestMismatch { path, expected: entry.blake3.clone(), actual });
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
    let denied = matches!(source, object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. })
        || ["status code: 401", "status code: 403"].iter().any(|status| text.contains(status));
    if text.contains("NoSuchBucket") {
        DataError::S3NoBucket { endpoint, bucket }
    } else if denied {
        DataError::S3Denied { endpoint, bucket, detail: s3_error_code(&text).unwrap_or(detail) }
    } else {
        DataError::S3 { endpoint, key, source }
    }
}

/// The `<Code>…</Code>` of an S3 error body, e.g. `SignatureDoesNotMatch`.
fn s3_error_code(text: &str) -> Option<String> {
    let start = text.find("<Code>")? + "<Code>".len();
    let end = start + text[start..].find("</Code>")?;
    Some(text[start..end].to_string())
}
