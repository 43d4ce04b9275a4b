//! The fake API server's state: objects by API prefix / plural / namespace / name with a
//! global resourceVersion, an event log for watches, label and field selectors, server-side
//! apply and JSON merge patch, and the status a real controller would set, on a schedule.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

/// Where an object lives: `api/v1` or `apis/GROUP/VERSION`, plural, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub prefix: String,
    pub plural: String,
    pub namespace: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    pub kind: &'static str,
    pub key: Key,
    pub object: Value,
}

/// A fault to inject: the next `times` requests whose method and path match answer `code`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: String,
    pub path_contains: String,
    pub code: u16,
    pub times: usize,
}

#[derive(Default)]
pub struct Store {
    pub objects: BTreeMap<Key, Value>,
    pub events: Vec<Event>,
    pub rv: u64,
    /// Events older than this resourceVersion are forgotten: a watch from before answers 410.
    pub compacted_below: u64,
    pub faults: Vec<Fault>,
    /// Every request, as `METHOD path?query`.
    pub requests: Vec<String>,
    /// Per kind: how long until the fake "controller" marks an object ready (absent: never).
    pub ready_after: BTreeMap<String, Duration>,
    pub uid: u64,
}

impl Store {
    pub fn new() -> Store {
        let mut s = Store { rv: 1, ..Default::default() };
        for kind in ["CustomResourceDefinition", "Deployment", "StatefulSet", "Job", "Workflow", "SparkApplication"] {
            s.ready_after.insert(kind.to_string(), Duration::from_millis(30));
        }
        s
    }

    pub fn take_fault(&mut self, method: &str, path: &str) -> Option<u16> {
        let f = self.faults.iter_mut().find(|f| f.times > 0 && f.method == method && path.contains(&f.path_contains))?;
        f.times -= 1;
        Some(f.code)
    }

    fn bump(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn record(&mut self, kind: &'static str, key: &Key, object: Value) {
        let rv = self.rv;
        self.events.push(Event { rv, kind, key: key.clone(), object });
    }

    /// Stores `obj` under `key` (new resourceVersion, event), keeping uid and creation time.
    pub fn put(&mut self, key: &Key, mut obj: Value) -> Value {
        let existed = self.objects.get(key).cloned();
        let rv = self.bump();
        let spec_changed = existed.as_ref().is_some_and(|old| old.get("spec") != obj.get("spec"));
        let meta = obj["metadata"].as_object_mut().expect("metadata");
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        match &existed {
            Some(old) => {
                meta.insert("uid".into(), old["metadata"]["uid"].clone());
                meta.insert("creationTimestamp".into(), old["metadata"]["creationTimestamp"].clone());
                let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
                meta.insert("generation".into(), json!(if spec_changed { generation + 1 } else { generation }));
            }
            None => {
                self.uid += 1;
                meta.insert("uid".into(), json!(format!("00000000-0000-0000-0000-{:012}", self.uid)));
                meta.insert("creationTimestamp".into(), json!("2026-01-01T00:00:00Z"));
                meta.insert("generation".into(), json!(1));
            }
        }
        self.objects.insert(key.clone(), obj.clone());
        self.record(if existed.is_some() { "MODIFIED" } else { "ADDED" }, key, obj.clone());
        obj
    }

    /// Server-side apply by the field manager: the applied fields replace the stored ones
    /// (loadbuild is the only manager of its objects), `status` is kept; an apply that changes
    /// nothing keeps the resourceVersion, as a real API server does.
    pub fn apply(&mut self, key: &Key, applied: Value, manager: &str) -> (Value, bool) {
        let mut obj = applied;
        let old = self.objects.get(key).cloned();
        if let Some(old) = &old {
            if let Some(status) = old.get("status") {
                obj["status"] = status.clone();
            }
            for field in ["resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"] {
                obj["metadata"][field] = old["metadata"][field].clone();
            }
            if &obj == old {
                return (old.clone(), false);
            }
        }
        obj["metadata"]["managedFields"] = json!([{ "manager": manager, "operation": "Apply", "apiVersion": obj["apiVersion"] }]);
        (self.put(key, obj), old.is_none())
    }

    pub fn delete(&mut self, key: &Key) -> Option<Value> {
        let obj = self.objects.remove(key)?;
        self.bump();
        self.record("DELETED", key, obj.clone());
        Some(obj)
    }

    /// The objects of one plural in one namespace (or all) matching the selectors.
    pub fn list(&self, prefix: &str, plural: &str, ns: Option<&str>, labels: &str, fields: &str) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|(k, o)| {
                k.prefix == prefix && k.plural == plural && (ns.is_none() || k.namespace.as_deref() == ns) && matches(o, labels, fields)
            })
            .map(|(_, o)| o.clone())
            .collect()
    }

    /// What a controller would set once the object is "ready", by kind.
    pub fn mark_ready(&mut self, key: &Key) {
        let Some(mut obj) = self.objects.get(key).cloned() else { return };
        let replicas = obj["spec"]["replicas"].as_i64().unwrap_or(1);
        let cond = |t: &str| json!({"type": t, "status": "True", "reason": "Fake", "lastTransitionTime": "2026-01-01T00:00:00Z"});
        let status = match obj["kind"].as_str().unwrap_or("") {
            "CustomResourceDefinition" => json!({"conditions": [cond("NamesAccepted"), cond("Established")]}),
            "Deployment" => json!({"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                "updatedReplicas": replicas, "conditions": [cond("Available"), cond("Progressing")]}),
            "StatefulSet" => json!({"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                "updatedReplicas": replicas, "currentReplicas": replicas}),
            "Job" => json!({"succeeded": 1, "conditions": [cond("SuccessCriteriaMet"), cond("Complete")]}),
            "Workflow" => json!({"phase": "Succeeded", "progress": "1/1"}),
            "SparkApplication" => json!({"applicationState": {"state": "COMPLETED"}, "sparkApplicationId": "spark-fake-0001"}),
            _ => return,
        };
        obj["status"] = status;
        self.put(key, obj);
    }
}

/// Label selector (`a=b`, `a==b`, `a!=b`, `a`, `!a`, comma = and) and the field selector
/// `metadata.name=X` / `metadata.namespace=X`.
pub fn matches(obj: &Value, labels: &str, fields: &str) -> bool {
    let l = &obj["metadata"]["labels"];
    let label_ok = labels.split(',').filter(|t| !t.is_empty()).all(|term| {
        if let Some((k, v)) = term.split_once("!=") {
            l[k].as_str() != Some(v)
        } else if let Some((k, v)) = term.split_once('=') {
            l[k.trim_end_matches('=')].as_str() == Some(v.trim_start_matches('='))
        } else if let Some(k) = term.strip_prefix('!') {
            l.get(k).is_none()
        } else {
            l.get(term).is_some()
        }
    });
    let field_ok = fields.split(',').filter(|t| !t.is_empty()).all(|term| match term.split_once('=') {
        Some(("metadata.name", v)) => obj["metadata"]["name"].as_str() == Some(v),
        Some(("metadata.namespace", v)) => obj["metadata"]["namespace"].as_str() == Some(v),
        _ => true,
    });
    label_ok && field_ok
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().unwrap();
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}
