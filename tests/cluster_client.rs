//! The cluster client (`src/cluster/`) against the fake API server (a real HTTP server a kube
//! `Client` reaches through a kubeconfig) and, for exact requests, a `tower-test` mock service.
#![cfg(feature = "kubernetes")]

#[path = "common/fake_kube/mod.rs"]
mod fake_kube;

use std::time::Duration;

use fake_kube::FakeKube;
use kube::api::DynamicObject;
use loadbuild::cluster::wait::Ready;
use loadbuild::cluster::{Cluster, Kind, ObjRef, Retry, Target};
use serde_json::json;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn obj(v: serde_json::Value) -> DynamicObject {
    serde_json::from_value(v).unwrap()
}

async fn connect(fake: &FakeKube) -> Cluster {
    let target = Target { kubeconfig: Some(fake.kubeconfig()), context: None, namespace: "loadbuild".into() };
    Cluster::connect(&target).await.unwrap().with_retry(Retry {
        attempts: 4,
        first: Duration::from_millis(10),
        max: Duration::from_millis(50),
    })
}

fn deployment(name: &str) -> DynamicObject {
    obj(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "loadbuild", "c": name}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"a": name}}, "template": {"metadata": {"labels": {"a": name}}, "spec": {"containers": [{"name": "x", "image": "busybox"}]}}}}))
}

#[test]
fn apply_wait_list_and_delete_by_label_against_the_fake() {
    let fake = FakeKube::start("loadbuild");
    rt().block_on(async {
        let c = connect(&fake).await;
        assert_eq!(c.ping().await.unwrap(), "v1.34.0-fake");
        let crd = obj(json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "workflows.argoproj.io", "labels": {"app.kubernetes.io/managed-by": "loadbuild"}},
            "spec": {"group": "argoproj.io", "names": {"kind": "Workflow", "plural": "workflows"}, "scope": "Namespaced"}}));
        let stored = c.apply(&crd).await.unwrap();
        assert!(stored.metadata.namespace.is_none(), "a CRD is cluster-scoped");
        let r = ObjRef::of(&crd, "loadbuild").unwrap();
        c.wait_ready(&r, Ready::Established, Duration::from_secs(5)).await.unwrap();

        for name in ["a", "b"] {
            c.apply(&deployment(name)).await.unwrap();
        }
        let other = obj(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs"}, "data": {"k": "v"}}));
        c.apply(&other).await.unwrap();
        let a = ObjRef::of(&deployment("a"), "loadbuild").unwrap();
        let ready = c.wait_ready(&a, Ready::Available, Duration::from_secs(5)).await.unwrap();
        assert_eq!(ready.data["status"]["availableReplicas"], 2);

        let deploy = Kind::new("apps/v1", "Deployment");
        let listed = c.list(&deploy, "app.kubernetes.io/managed-by=loadbuild,c=b").await.unwrap();
        assert_eq!(listed.iter().map(|o| o.metadata.name.clone().unwrap()).collect::<Vec<_>>(), ["b"]);

        let deleted = c.delete_labelled(&deploy, "app.kubernetes.io/managed-by=loadbuild").await.unwrap();
        assert_eq!(deleted.len(), 2);
        assert!(c.list(&deploy, "").await.unwrap().is_empty());
        assert!(c.get(&ObjRef::of(&other, "loadbuild").unwrap()).await.unwrap().is_some(), "unlabelled object kept");
        assert!(!c.delete(&a).await.unwrap(), "deleting a missing object is not an error");
    });
    let requests = fake.requests();
    assert!(
        requests.iter().any(|r| r.starts_with("PATCH /apis/apps/v1/namespaces/loadbuild/deployments/a?")
            && r.contains("fieldManager=loadbuild")
            && r.contains("force=true")),
        "{requests:#?}"
    );
}

#[test]
fn transient_errors_are_retried_within_a_bound() {
    let fake = FakeKube::start("loadbuild");
    rt().block_on(async {
        let c = connect(&fake).await;
        fake.fail("PATCH", "/deployments/a", 500, 1);
        fake.fail("PATCH", "/deployments/a", 429, 1);
        fake.fail("PATCH", "/deployments/a", 409, 1);
        c.apply(&deployment("a")).await.unwrap();
        assert_eq!(fake.requests().iter().filter(|r| r.starts_with("PATCH")).count(), 4);

        fake.fail("PATCH", "/deployments/b", 503, 10);
        let err = c.apply(&deployment("b")).await.unwrap_err();
        assert!(err.to_string().contains("gave up after 4 attempts"), "{err}");
        assert_eq!(err.status(), Some(503));

        fake.fail("PATCH", "/deployments/c", 403, 1);
        let err = c.apply(&deployment("c")).await.unwrap_err();
        assert_eq!(err.status(), Some(403), "403 is not transient: {err}");
        assert_eq!(fake.requests().iter().filter(|r| r.contains("/deployments/c")).count(), 1);

        // 409 on create means "already exists": answered, not retried.
        let wf = obj(json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w", "namespace": "loadbuild"}, "spec": {}}));
        c.create(&Kind::workflow(), &wf).await.unwrap();
        let err = c.create(&Kind::workflow(), &wf).await.unwrap_err();
        assert_eq!(err.status(), Some(409));
    });
}

#[test]
fn a_wait_survives_a_410_and_a_missing_condition_times_out_naming_the_object() {
    let fake = FakeKube::start("loadbuild");
    rt().block_on(async {
        let c = connect(&fake).await;
        fake.ready_after("Deployment", Some(Duration::from_millis(400)));
        c.apply(&deployment("slow")).await.unwrap();
        let r = ObjRef::of(&deployment("slow"), "loadbuild").unwrap();
        fake.fail("GET", "/deployments", 410, 1);
        let waiting = c.wait_ready(&r, Ready::Available, Duration::from_secs(10));
        let compacting = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            fake.compact();
        };
        let (done, ()) = tokio::join!(waiting, compacting);
        done.unwrap();

        fake.ready_after("StatefulSet", None);
        let sts = obj(json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "postgres"}, "spec": {"replicas": 1}}));
        c.apply(&sts).await.unwrap();
        let r = ObjRef::of(&sts, "loadbuild").unwrap();
        let err = c.wait_ready(&r, Ready::StatefulSetReady, Duration::from_millis(300)).await.unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("StatefulSet loadbuild/postgres"), "{msg}");
        assert!(msg.contains("kubectl -n loadbuild describe statefulsets.apps/postgres"), "{msg}");
    });
}

#[test]
fn the_exact_apply_request_through_a_mock_service() {
    use http::{Request, Response};
    use kube::client::Body;
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    rt().block_on(async {
        let c = Cluster::from_client(kube::Client::new(service, "loadbuild"), "loadbuild");
        let server = async {
            let (req, send) = handle.next_request().await.expect("a request");
            assert_eq!(req.method(), "PATCH");
            assert_eq!(req.uri().to_string(), "/apis/apps/v1/namespaces/loadbuild/deployments/a?&force=true&fieldManager=loadbuild");
            assert_eq!(req.headers()["content-type"], "application/apply-patch+yaml");
            let body = req.into_body().collect_bytes().await.unwrap();
            let sent: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(sent["metadata"]["namespace"], "loadbuild", "the namespace is filled in");
            assert_eq!(sent["spec"]["replicas"], 2);
            send.send_response(Response::builder().body(Body::from(body.to_vec())).unwrap());
        };
        let d = deployment("a");
        let (applied, ()) = tokio::join!(c.apply(&d), server);
        assert_eq!(applied.unwrap().metadata.name.as_deref(), Some("a"));
    });
}
