//! Which workload execution a Spark job belongs to, read from the tags the driver sets.
//!
//! Convention (see `docs/metrics.md`): the driver tags every job of the warm-up `loadbuild-warmup`
//! and every job of measured execution k (1-based) `loadbuild-exec-<k>`, via `addJobTag` (classic)
//! or `spark.addTag` (Connect, where the server wraps it as
//! `SparkConnect_SessionTag_User_<user>_Session_<uuid>_Tag_<tag>`, seen in Spark 4.1.1 logs).
//! Without tags, the job description `loadbuild exec=<k> phase=warmup|measure` is the fallback.
//! On a Spark Connect server shared by several sessions, [`JobScope::ConnectSession`] keeps only
//! the jobs whose tags carry that session's id: every session tags its work `loadbuild-exec-1`.
use serde::Serialize;

use super::events::JobProperties;

/// The tag on every job of the warm-up.
pub const WARMUP_TAG: &str = "loadbuild-warmup";
const EXEC_TAG_PREFIX: &str = "loadbuild-exec-";
/// Spark Connect turns a user tag `t` into `SparkConnect_SessionTag_User_<u>_Session_<s>_Tag_t`.
const CONNECT_PREFIX: &str = "SparkConnect_";
const CONNECT_SESSION: &str = "_Session_";
const CONNECT_TAG: &str = "_Tag_";

/// Whose jobs an event log's metrics count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum JobScope {
    /// Every tagged job of the application (one application per run: classic Spark).
    #[default]
    Application,
    /// Only the jobs one Spark Connect session tagged (its id, a UUID, as the client's
    /// `spark.session_id` and `result.json`'s `connect_session_id` give it). The description
    /// fallback does not apply: Connect writes the plan there.
    ConnectSession(String),
}

/// One run of the workload's query inside the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Execution {
    Warmup,
    /// Measured execution k, counted from 1.
    Measured(u32),
}

/// The tag the driver puts on the jobs of measured execution `k`.
pub fn execution_tag(k: u32) -> String {
    format!("{EXEC_TAG_PREFIX}{k}")
}

/// The execution a job belongs to, or `None` for jobs the driver did not tag (e.g. Spark's own
/// schema-inference or listing jobs, or another client's work on a shared Connect server).
pub(crate) fn attribute(props: &JobProperties<'_>, scope: &JobScope) -> Option<Execution> {
    if let JobScope::ConnectSession(session) = scope {
        let tags = props.tags.as_deref()?;
        return tags.split(',').find_map(|t| connect_session_tag(t.trim()).filter(|(s, _)| s == session).and_then(|(_, t)| from_tag(t)));
    }
    if let Some(tags) = &props.tags {
        let from_tags = tags.split(',').find_map(|t| from_tag(t.trim()));
        if from_tags.is_some() {
            return from_tags;
        }
    }
    props.description.as_deref().and_then(from_description)
}

fn from_tag(tag: &str) -> Option<Execution> {
    let tag = connect_session_tag(tag).map_or(tag, |(_, t)| t);
    if tag == WARMUP_TAG {
        return Some(Execution::Warmup);
    }
    measured(tag.strip_prefix(EXEC_TAG_PREFIX)?)
}

/// `(session id, user's tag)` of a Spark Connect tag; the session id (a UUID) has no `_`, so the
/// first `_Tag_` after `_Session_` starts the user's tag even if that tag contains `_Tag_` itself.
fn connect_session_tag(tag: &str) -> Option<(&str, &str)> {
    let rest = tag.strip_prefix(CONNECT_PREFIX)?;
    let after = &rest[rest.find(CONNECT_SESSION)? + CONNECT_SESSION.len()..];
    let end = after.find(CONNECT_TAG)?;
    Some((&after[..end], &after[end + CONNECT_TAG.len()..]))
}

/// `loadbuild exec=<k> phase=<warmup|measure>`, words in any order after `loadbuild`.
fn from_description(text: &str) -> Option<Execution> {
    let mut words = text.split_whitespace();
    if words.next()? != "loadbuild" {
        return None;
    }
    let (mut exec, mut phase) = (None, None);
    for word in words {
        match word.split_once('=') {
            Some(("exec", k)) => exec = Some(k),
            Some(("phase", p)) => phase = Some(p),
            _ => {}
        }
    }
    match phase? {
        "warmup" => Some(Execution::Warmup),
        "measure" => measured(exec?),
        _ => None,
    }
}

fn measured(k: &str) -> Option<Execution> {
    match k.parse::<u32>() {
        Ok(k) if k >= 1 => Some(Execution::Measured(k)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn props(tags: Option<&str>, description: Option<&str>) -> JobProperties<'static> {
        JobProperties {
            tags: tags.map(|t| Cow::Owned(t.to_string())),
            description: description.map(|d| Cow::Owned(d.to_string())),
            sql_execution_id: None,
        }
    }

    #[test]
    fn classic_tags_name_the_execution() {
        let p = props(Some("other,loadbuild-exec-2"), None);
        assert_eq!(attribute(&p, &JobScope::Application), Some(Execution::Measured(2)));
        assert_eq!(attribute(&props(Some(WARMUP_TAG), None), &JobScope::Application), Some(Execution::Warmup));
    }

    #[test]
    fn connect_operation_tags_are_unwrapped() {
        let tag = "SparkConnect_OperationTag_User_root_Session_3f2a_Tag_loadbuild-exec-1";
        assert_eq!(attribute(&props(Some(tag), None), &JobScope::Application), Some(Execution::Measured(1)));
    }

    #[test]
    fn description_is_the_fallback_and_exec_zero_is_not_measured() {
        let p = props(None, Some("loadbuild exec=3 phase=measure"));
        assert_eq!(attribute(&p, &JobScope::Application), Some(Execution::Measured(3)));
        let warm = props(Some("x"), Some("loadbuild exec=0 phase=warmup"));
        assert_eq!(attribute(&warm, &JobScope::Application), Some(Execution::Warmup));
        assert_eq!(attribute(&props(Some("loadbuild-exec-0"), None), &JobScope::Application), None);
        assert_eq!(attribute(&props(None, Some("collect at q.py:3")), &JobScope::Application), None);
    }

    #[test]
    fn a_connect_session_scope_keeps_only_that_sessions_tags() {
        let tags =
            "SparkConnect_OperationTag_User__Session_aa-1_Operation_o-1,SparkConnect_SessionTag_User__Session_aa-1_Tag_loadbuild-exec-2";
        let mine = JobScope::ConnectSession("aa-1".into());
        let theirs = JobScope::ConnectSession("bb-2".into());
        assert_eq!(attribute(&props(Some(tags), None), &mine), Some(Execution::Measured(2)));
        assert_eq!(attribute(&props(Some(tags), None), &theirs), None, "another session's exec-2");
        assert_eq!(attribute(&props(Some("loadbuild-exec-1"), None), &mine), None, "a classic tag has no session");
        assert_eq!(attribute(&props(None, Some("loadbuild exec=1 phase=measure")), &mine), None, "no description fallback");
    }
}
