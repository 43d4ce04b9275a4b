//! Applying, checking and removing rendered components through the cluster client.
//!
//! `up`: generated secrets first (read back when the cluster has them, so they are made once),
//! then per component, in Loadfile order: skipped when the cluster already carries its key on
//! every object; else CRDs (waited for until Established), pre-install hooks one by one (Jobs
//! waited for), the rest (Deployments/StatefulSets/Jobs waited for), post-install hooks.
//! `down`: per component in reverse, every kind it has, by label; PVCs and the generated
//! secrets stay with `keep_data`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kube::api::DynamicObject;
use serde_json::{Value, json};

use super::render::{COMPONENT, KEY, Rendered, SELECTOR, order_of};
use crate::cluster::wait::Ready;
use crate::cluster::{Cluster, ClusterError, Kind, ObjRef};

/// The Secret holding every generated credential (`${secret:NAME}` → value).
pub const GENERATED: &str = "loadbuild-generated";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpOutcome {
    /// The cluster already carries the component's key on every object: nothing applied.
    Unchanged,
    /// Applied this many objects (because these were missing or had another key).
    Applied { objects: usize, missing: usize },
}

fn to_dynamic(v: &Value) -> Result<DynamicObject, String> {
    serde_json::from_value(v.clone()).map_err(|e| format!("not a Kubernetes object: {e}"))
}

fn objref(cluster: &Cluster, v: &Value) -> Result<ObjRef, String> {
    ObjRef::of(&to_dynamic(v)?, cluster.namespace()).ok_or_else(|| "an object without a name".to_string())
}

/// How many of the component's objects are missing from the cluster or carry another key.
pub async fn missing(cluster: &Cluster, r: &Rendered) -> Result<usize, ClusterError> {
    let key = r.key.to_hex();
    let mut n = 0;
    for o in &r.objects {
        let Ok(rf) = objref(cluster, o) else { continue };
        let live = cluster.get(&rf).await?;
        let carried = live.as_ref().and_then(|l| l.metadata.annotations.as_ref()).and_then(|a| a.get(KEY));
        if carried != Some(&key) {
            n += 1;
        }
    }
    Ok(n)
}

/// The generated secrets: read from the cluster, missing ones made (24 random bytes, hex) and
/// stored first. Never printed.
pub async fn secrets(cluster: &Cluster, names: &BTreeSet<String>) -> Result<BTreeMap<String, String>, String> {
    let kind = Kind::new("v1", "Secret");
    let rf = ObjRef { kind, namespace: Some(cluster.namespace().to_string()), name: GENERATED.into() };
    let live = cluster.get(&rf).await.map_err(|e| e.to_string())?;
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    if let Some(l) = &live {
        for (k, v) in l.data["data"].as_object().into_iter().flatten() {
            let bytes = decode_b64(v.as_str().unwrap_or(""));
            values.insert(k.clone(), String::from_utf8_lossy(&bytes).into_owned());
        }
        for (k, v) in l.data["stringData"].as_object().into_iter().flatten() {
            values.insert(k.clone(), v.as_str().unwrap_or("").to_string());
        }
    }
    let missing: Vec<&String> = names.iter().filter(|n| !values.contains_key(*n)).collect();
    if missing.is_empty() && live.is_some() {
        return Ok(values);
    }
    for n in missing {
        values.insert(n.clone(), random_hex(24).map_err(|e| format!("reading /dev/urandom: {e}"))?);
    }
    let obj = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": GENERATED, "namespace": cluster.namespace(),
                     "labels": {"app.kubernetes.io/managed-by": "loadbuild", COMPONENT: "secrets"}},
        "stringData": values});
    cluster.apply(&to_dynamic(&obj)?).await.map_err(|e| e.to_string())?;
    Ok(values)
}

fn random_hex(n: usize) -> std::io::Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn decode_b64(s: &str) -> Vec<u8> {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let Some(v) = T.iter().position(|t| *t == c) else { continue };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Replaces `${secret:NAME}` tokens with their values.
pub fn fill(v: &mut Value, secrets: &BTreeMap<String, String>) {
    match v {
        Value::String(s) if s.contains("${secret:") => {
            for (k, val) in secrets {
                *s = s.replace(&format!("${{secret:{k}}}"), val);
            }
        }
        Value::Object(m) => m.values_mut().for_each(|x| fill(x, secrets)),
        Value::Array(a) => a.iter_mut().for_each(|x| fill(x, secrets)),
        _ => {}
    }
}

/// Brings one component up (see the module documentation); `on_step` hears what happens.
pub async fn up_component(
    cluster: &Cluster,
    r: &Rendered,
    secrets: &BTreeMap<String, String>,
    timeout: Duration,
    on_step: &mut dyn FnMut(&str),
) -> Result<UpOutcome, String> {
    let err = |e: ClusterError| format!("component {}: {e}", r.name);
    let missing = missing(cluster, r).await.map_err(err)?;
    if missing == 0 {
        return Ok(UpOutcome::Unchanged);
    }
    let mut phase_of_prev = None;
    let mut pending: Vec<(ObjRef, Ready)> = Vec::new();
    for o in &r.objects {
        let (phase, _, _) = order_of(o);
        if phase_of_prev.is_some_and(|p| p != phase) || phase == 1 || phase == 3 {
            wait_all(cluster, &mut pending, timeout, on_step).await.map_err(|e| format!("component {}: {e}", r.name))?;
        }
        phase_of_prev = Some(phase);
        let mut filled = o.clone();
        fill(&mut filled, secrets);
        let rf = objref(cluster, o).map_err(|e| format!("component {}: {e}", r.name))?;
        cluster.apply(&to_dynamic(&filled)?).await.map_err(err)?;
        on_step(&format!("applied {rf}"));
        if let Some(ready) = Ready::for_kind(rf.kind.kind()) {
            pending.push((rf, ready));
        }
    }
    wait_all(cluster, &mut pending, timeout, on_step).await.map_err(|e| format!("component {}: {e}", r.name))?;
    Ok(UpOutcome::Applied { objects: r.objects.len(), missing })
}

async fn wait_all(
    cluster: &Cluster,
    pending: &mut Vec<(ObjRef, Ready)>,
    timeout: Duration,
    on_step: &mut dyn FnMut(&str),
) -> Result<(), ClusterError> {
    for (rf, ready) in pending.drain(..) {
        cluster.wait_ready(&rf, ready, timeout).await?;
        on_step(&format!("ready {rf}"));
    }
    Ok(())
}

/// Deletes the components' objects by label, components in reverse order, kinds in reverse
/// apply order; PVCs and the generated secrets stay with `keep_data`. Returns what it deleted.
pub async fn down(cluster: &Cluster, rendered: &[Rendered], keep_data: bool) -> Result<Vec<ObjRef>, String> {
    let mut deleted = Vec::new();
    for r in rendered.iter().rev() {
        let mut kinds: Vec<Kind> = Vec::new();
        for o in r.objects.iter().rev() {
            let kind = Kind::new(o["apiVersion"].as_str().unwrap_or(""), o["kind"].as_str().unwrap_or(""));
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        let pvc = Kind::new("v1", "PersistentVolumeClaim");
        if !kinds.contains(&pvc) {
            kinds.push(pvc.clone());
        }
        let selector = format!("{SELECTOR},{COMPONENT}={}", r.name);
        for kind in kinds {
            if keep_data && kind == pvc {
                continue;
            }
            let gone = cluster.delete_labelled(&kind, &selector).await.map_err(|e| format!("component {}: {e}", r.name))?;
            deleted.extend(gone);
        }
    }
    if !keep_data {
        let gone = cluster
            .delete_labelled(&Kind::new("v1", "Secret"), &format!("{SELECTOR},{COMPONENT}=secrets"))
            .await
            .map_err(|e| e.to_string())?;
        deleted.extend(gone);
    }
    Ok(deleted)
}
