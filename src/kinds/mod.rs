//! The node kinds: one file each, behind [`crate::kind::Kind`].
//!
//! A rule's `action` names its kind; [`Registry`] is the one place that maps an action to the
//! kind that carries it out. Adding a kind: its file here, its `rules::Action` variant (the
//! name rules use), and one arm in [`Registry::of`].

pub mod command;
pub mod dataset;
pub mod metrics;
pub mod render;
pub mod report;
pub mod service;
pub mod summary;
pub mod toolchain;
pub mod upload;

use crate::kind::{Kind, Kinds};
use crate::rules::{Action, Params};

/// Every node kind of the product; stateful kinds (render's template library) hold their state
/// for one session.
#[derive(Default)]
pub struct Registry {
    pub render: render::Render,
}

impl Kinds for Registry {
    fn of(&self, action: &Action) -> &dyn Kind {
        match action {
            Action::Command { .. } => &command::Command,
            Action::Summary => &summary::Summary,
            Action::Report => &report::Report,
            Action::Dataset => &dataset::Dataset,
            Action::Upload => &upload::Upload,
            Action::Metrics => &metrics::Metrics,
            Action::Toolchain => &toolchain::Toolchain,
            Action::Service => &service::Service,
            Action::Render => &self.render,
        }
    }
}

impl Registry {
    /// The params each action requires and allows, for [`crate::rules::load`].
    pub fn params(&self, action: &Action) -> Params {
        self.of(action).params()
    }
}
