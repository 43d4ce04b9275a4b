//! A fake Kubernetes API server for tests: a real HTTP/1.1 server on 127.0.0.1 (hyper) that a
//! kube `Client` reaches through a kubeconfig, with stateful objects (`store.rs`): GET, LIST
//! with label/field selectors, WATCH streams from a resourceVersion (410 once compacted),
//! server-side apply and merge PATCH, POST, DELETE; a "controller" that marks CRDs Established,
//! Deployments/StatefulSets available, Jobs complete, Workflows Succeeded and SparkApplications
//! COMPLETED after a delay; and injected faults (409/410/429/500 on matching requests).
//!
//! It is not Kubernetes: no admission, no schema validation, no garbage collection, SSA
//! without field ownership merging. It runs on its own thread and stops when dropped.
#![allow(dead_code)]

pub mod store;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot};

pub use store::{Fault, Key, Store};

type Body = BoxBody<Bytes, Infallible>;

struct Shared {
    store: Mutex<Store>,
    changed: Notify,
}

pub struct FakeKube {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    dir: tempfile::TempDir,
}

impl FakeKube {
    /// Starts the server on a free loopback port; its kubeconfig names namespace `namespace`.
    pub fn start(namespace: &str) -> FakeKube {
        let shared = Arc::new(Shared { store: Mutex::new(Store::new()), changed: Notify::new() });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop_tx, stop_rx) = oneshot::channel();
        let s = shared.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(serve(listener, s, stop_rx));
        });
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{addr}\n\
             users:\n- name: fake\n  user:\n    token: fake-token\ncontexts:\n- name: fake\n  context:\n    \
             cluster: fake\n    user: fake\n    namespace: {namespace}\ncurrent-context: fake\n"
        );
        std::fs::write(dir.path().join("kubeconfig"), kubeconfig).unwrap();
        FakeKube { addr, shared, stop: Some(stop_tx), thread: Some(thread), dir }
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs `f` on the state (then wakes watches, in case it changed objects).
    pub fn with<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        let r = f(&mut self.shared.store.lock().unwrap());
        self.shared.changed.notify_waiters();
        r
    }

    pub fn objects(&self) -> Vec<Value> {
        self.with(|s| s.objects.values().cloned().collect())
    }

    pub fn requests(&self) -> Vec<String> {
        self.with(|s| s.requests.clone())
    }

    pub fn clear_requests(&self) {
        self.with(|s| s.requests.clear())
    }

    /// The next `times` requests with this method whose path contains `path` answer `code`.
    pub fn fail(&self, method: &str, path: &str, code: u16, times: usize) {
        self.with(|s| s.faults.push(Fault { method: method.into(), path_contains: path.into(), code, times }));
    }

    /// Objects of `kind` are never marked ready (`None`) or after `delay`.
    pub fn ready_after(&self, kind: &str, delay: Option<Duration>) {
        self.with(|s| match delay {
            Some(d) => s.ready_after.insert(kind.into(), d),
            None => s.ready_after.remove(kind),
        });
    }

    /// Deletes every object matching `pred` (as if someone wiped part of the cluster).
    pub fn lose(&self, pred: impl Fn(&Value) -> bool) -> usize {
        self.with(|s| {
            let keys: Vec<Key> = s.objects.iter().filter(|(_, o)| pred(o)).map(|(k, _)| k.clone()).collect();
            keys.iter().filter(|k| s.delete(k).is_some()).count()
        })
    }

    /// Forgets the event history: watches from an older resourceVersion get 410 Gone.
    pub fn compact(&self) {
        self.with(|s| {
            s.compacted_below = s.rv + 1;
            s.events.clear();
        })
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(listener: std::net::TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    loop {
        tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let s = shared.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| handle(s.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
}

fn full(code: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .unwrap()
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn reason_of(code: u16) -> &'static str {
    match code {
        404 => "NotFound",
        409 => "Conflict",
        410 => "Expired",
        429 => "TooManyRequests",
        _ => "InternalError",
    }
}

/// The parts of an API path: prefix (`api/v1`, `apis/G/V`), namespace, plural, name, subresource.
fn parse_path(path: &str) -> Option<(String, Option<String>, String, Option<String>)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (prefix, rest) = match *parts.first()? {
        "api" if parts.len() >= 2 => (parts[..2].join("/"), &parts[2..]),
        "apis" if parts.len() >= 3 => (parts[..3].join("/"), &parts[3..]),
        _ => return None,
    };
    let (ns, rest) = match rest {
        ["namespaces", ns, tail @ ..] if !tail.is_empty() => (Some(ns.to_string()), tail),
        other => (None, other),
    };
    match rest {
        [plural] => Some((prefix, ns, plural.to_string(), None)),
        [plural, name] | [plural, name, "status"] => Some((prefix, ns, plural.to_string(), Some(name.to_string()))),
        _ => None,
    }
}

fn query(q: &str, key: &str) -> String {
    q.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == key).map(|(_, v)| percent_decode(v)).unwrap_or_default()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let q = req.uri().query().unwrap_or("").to_string();
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let watch = matches!(query(&q, "watch").as_str(), "true" | "1");
    let fault = {
        let mut s = shared.store.lock().unwrap();
        s.requests.push(if q.is_empty() { format!("{method} {path}") } else { format!("{method} {path}?{q}") });
        s.take_fault(method.as_str(), &path)
    };
    if let Some(code) = fault {
        if watch && code == 410 {
            let ev = json!({"type": "ERROR", "object": status(410, "Expired", "too old resource version")});
            return Ok(full(200, &ev));
        }
        return Ok(full(code, &status(code, reason_of(code), "injected by the fake API server")));
    }
    if path == "/version" {
        return Ok(full(200, &json!({"major": "1", "minor": "34", "gitVersion": "v1.34.0-fake", "platform": "linux/amd64"})));
    }
    let Some((prefix, ns, plural, name)) = parse_path(&path) else {
        return Ok(full(404, &status(404, "NotFound", &format!("the fake serves no {path}"))));
    };
    if watch {
        return Ok(watch_stream(shared, prefix, ns, plural, &q));
    }
    let key = |name: String| Key { prefix: prefix.clone(), plural: plural.clone(), namespace: ns.clone(), name };
    let resp = match (method, name) {
        (Method::GET, None) => {
            let s = shared.store.lock().unwrap();
            let items = s.list(&prefix, &plural, ns.as_deref(), &query(&q, "labelSelector"), &query(&q, "fieldSelector"));
            let version = prefix.split_once('/').map(|(_, v)| v).unwrap_or("v1");
            full(200, &json!({"apiVersion": version, "kind": "List", "metadata": {"resourceVersion": s.rv.to_string()}, "items": items}))
        }
        (Method::GET, Some(name)) => match shared.store.lock().unwrap().objects.get(&key(name.clone())) {
            Some(o) => full(200, o),
            None => full(404, &status(404, "NotFound", &format!("{plural} \"{name}\" not found"))),
        },
        (Method::POST, None) => {
            let Ok(obj) = serde_json::from_slice::<Value>(&body) else { return Ok(full(400, &status(400, "BadRequest", "body"))) };
            let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
            let k = key(name.clone());
            let mut s = shared.store.lock().unwrap();
            if s.objects.contains_key(&k) {
                full(409, &status(409, "AlreadyExists", &format!("{plural} \"{name}\" already exists")))
            } else {
                let stored = s.put(&k, obj);
                schedule_ready(&shared, &s, k);
                full(201, &stored)
            }
        }
        (Method::PATCH, Some(name)) => {
            let Ok(patch) = serde_json::from_slice::<Value>(&body) else { return Ok(full(400, &status(400, "BadRequest", "body"))) };
            let k = key(name.clone());
            let mut s = shared.store.lock().unwrap();
            if content_type.starts_with("application/apply-patch") {
                let manager = query(&q, "fieldManager");
                if manager.is_empty() {
                    return Ok(full(400, &status(400, "BadRequest", "fieldManager is required for apply patch")));
                }
                let (stored, created) = s.apply(&k, patch, &manager);
                let changed = created || s.events.last().is_some_and(|e| e.key == k);
                if changed {
                    schedule_ready(&shared, &s, k);
                }
                full(if created { 201 } else { 200 }, &stored)
            } else if let Some(mut obj) = s.objects.get(&k).cloned() {
                store::merge_patch(&mut obj, &patch);
                full(200, &s.put(&k, obj))
            } else {
                full(404, &status(404, "NotFound", &format!("{plural} \"{name}\" not found")))
            }
        }
        (Method::DELETE, Some(name)) => match shared.store.lock().unwrap().delete(&key(name.clone())) {
            Some(_) => full(
                200,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                          "details": {"name": name, "kind": plural}}),
            ),
            None => full(404, &status(404, "NotFound", &format!("{plural} \"{name}\" not found"))),
        },
        (m, _) => full(405, &status(405, "MethodNotAllowed", &format!("the fake does not serve {m} {path}"))),
    };
    shared.changed.notify_waiters();
    Ok(resp)
}

/// After the kind's delay, the fake controller marks the object ready.
fn schedule_ready(shared: &Arc<Shared>, s: &Store, key: Key) {
    let kind = s.objects.get(&key).and_then(|o| o["kind"].as_str()).unwrap_or("").to_string();
    let Some(delay) = s.ready_after.get(&kind).copied() else { return };
    let shared = shared.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        shared.store.lock().unwrap().mark_ready(&key);
        shared.changed.notify_waiters();
    });
}

/// A watch: events after `resourceVersion` matching the selectors, as JSON lines, until the
/// client goes away or `timeoutSeconds` passes; ERROR 410 when that version was compacted.
fn watch_stream(shared: Arc<Shared>, prefix: String, ns: Option<String>, plural: String, q: &str) -> Response<Body> {
    let from: u64 = query(q, "resourceVersion").parse().unwrap_or(0);
    let labels = query(q, "labelSelector");
    let fields = query(q, "fieldSelector");
    let timeout = Duration::from_secs(query(q, "timeoutSeconds").parse().unwrap_or(290));
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = from;
        loop {
            let notified = shared.changed.notified();
            let lines: Vec<Bytes> = {
                let s = shared.store.lock().unwrap();
                if seen < s.compacted_below && seen != 0 {
                    let ev = json!({"type": "ERROR", "object": status(410, "Expired", "too old resource version")});
                    let _ = tx.try_send(Bytes::from(format!("{ev}\n")));
                    return;
                }
                let evs: Vec<Bytes> = s
                    .events
                    .iter()
                    .filter(|e| e.rv > seen && e.key.prefix == prefix && e.key.plural == plural)
                    .filter(|e| ns.is_none() || e.key.namespace == ns)
                    .filter(|e| store::matches(&e.object, &labels, &fields))
                    .map(|e| Bytes::from(format!("{}\n", json!({"type": e.kind, "object": e.object}))))
                    .collect();
                seen = s.rv;
                evs
            };
            for line in lines {
                if tx.send(line).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(deadline) => return,
                _ = tx.closed() => return,
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx)) });
    Response::builder().status(200).header("content-type", "application/json").body(BodyExt::boxed(StreamBody::new(stream))).unwrap()
}

/// The kubeconfig path as an argument.
pub fn arg(p: &Path) -> String {
    p.display().to_string()
}
