//! Kinds without discovery: an object's `apiVersion` + `kind` become a kube `ApiResource`
//! (plural and scope from a table of the kinds loadbuild uses, else kube's pluralisation and
//! "namespaced"), and `ObjRef` names one object for messages and deletes.

use std::fmt;

use kube::api::{ApiResource, DynamicObject, GroupVersionKind};

/// Kinds that live outside namespaces. Everything else loadbuild applies is namespaced.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "ClusterWorkflowTemplate",
    "IngressClass",
];

/// Plurals kube's rule of thumb would get wrong for kinds in this project.
const PLURALS: &[(&str, &str)] = &[("Endpoints", "endpoints"), ("PodMetrics", "pods")];

/// One Kubernetes kind, as `apiVersion` + `kind`, with what the API paths need.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Kind {
    pub resource: ApiResource,
    pub namespaced: bool,
}

impl Kind {
    /// The kind of `apiVersion` (`v1`, `apps/v1`, `argoproj.io/v1alpha1`) and `kind`.
    pub fn new(api_version: &str, kind: &str) -> Kind {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let resource = match PLURALS.iter().find(|(k, _)| *k == kind) {
            Some((_, plural)) => ApiResource::from_gvk_with_plural(&gvk, plural),
            None => ApiResource::from_gvk(&gvk),
        };
        Kind { resource, namespaced: !CLUSTER_SCOPED.contains(&kind) }
    }

    /// Argo Workflows' `Workflow` (issue 14 creates these).
    pub fn workflow() -> Kind {
        Kind::new("argoproj.io/v1alpha1", "Workflow")
    }

    /// The Spark Operator's `SparkApplication`.
    pub fn spark_application() -> Kind {
        Kind::new("sparkoperator.k8s.io/v1beta2", "SparkApplication")
    }

    pub fn crd() -> Kind {
        Kind::new("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    }

    pub fn of(obj: &DynamicObject) -> Option<Kind> {
        let types = obj.types.as_ref()?;
        Some(Kind::new(&types.api_version, &types.kind))
    }

    pub fn kind(&self) -> &str {
        &self.resource.kind
    }
}

/// One object: kind, namespace (none for cluster-scoped kinds) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjRef {
    pub kind: Kind,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjRef {
    /// The object's reference; a namespaced object without a namespace gets `default_ns`.
    pub fn of(obj: &DynamicObject, default_ns: &str) -> Option<ObjRef> {
        let kind = Kind::of(obj)?;
        let name = obj.metadata.name.clone()?;
        let namespace = kind.namespaced.then(|| obj.metadata.namespace.clone().unwrap_or_else(|| default_ns.to_string()));
        Some(ObjRef { kind, namespace, name })
    }

    /// What `kubectl` takes to show this object, e.g. `-n loadbuild describe deployment/postgres`.
    pub fn kubectl(&self, verb: &str) -> String {
        let ns = self.namespace.as_ref().map(|n| format!("-n {n} ")).unwrap_or_default();
        let group = &self.kind.resource.group;
        let res = if group.is_empty() { self.kind.resource.plural.clone() } else { format!("{}.{group}", self.kind.resource.plural) };
        format!("kubectl {ns}{verb} {res}/{}", self.name)
    }
}

impl fmt::Display for ObjRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind.kind(), self.name),
            None => write!(f, "{} {}", self.kind.kind(), self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_get_their_paths_without_discovery() {
        let wf = Kind::workflow();
        assert_eq!(wf.resource.plural, "workflows");
        assert_eq!(wf.resource.group, "argoproj.io");
        assert!(wf.namespaced);
        let crd = Kind::crd();
        assert_eq!(crd.resource.plural, "customresourcedefinitions");
        assert!(!crd.namespaced);
        assert_eq!(Kind::new("v1", "ConfigMap").resource.plural, "configmaps");
        assert!(!Kind::new("rbac.authorization.k8s.io/v1", "ClusterRole").namespaced);
        assert_eq!(Kind::new("networking.k8s.io/v1", "NetworkPolicy").resource.plural, "networkpolicies");
    }
}
