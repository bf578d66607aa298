//! Where initialisation stands (upstream's `findNextInitContainerToRun`):
//! init containers run one at a time, in order, each to success.

use k8s_openapi::api::core::v1::Pod;

use super::specs;
use crate::pod::runtime::{ContainerInfo, RuntimePod, State};

/// How far initialisation got.
#[derive(Debug, PartialEq)]
pub enum InitProgress<'a> {
    /// Every init container succeeded (or an app container already runs).
    Done,
    /// An init container is running: wait for it.
    InProgress,
    /// Start init container `index`; `failed` is its newest instance when
    /// that one failed.
    Next {
        /// Index in `spec.initContainers`.
        index: usize,
        /// The failed instance, if the start is a restart after failure.
        failed: Option<&'a ContainerInfo>,
    },
}

/// An init container instance that failed: exited non-zero, killed for
/// memory, or in an unknown state.
fn failed(i: &ContainerInfo) -> bool {
    i.reason == "OOMKilled"
        || (i.state == State::Exited && i.exit_code != 0)
        || i.state == State::Unknown
}

/// Where the pod's initialisation stands, judged by the newest instance of
/// each container.
pub fn init_progress<'a>(pod: &Pod, rt: &'a RuntimePod) -> InitProgress<'a> {
    let (inits, containers) = specs(pod);
    if inits.is_empty() {
        return InitProgress::Done;
    }
    // A running app container means initialisation finished some time ago,
    // even when the init containers' instances are gone since.
    let app_running = containers.iter().any(|c| {
        rt.latest(&c.name)
            .is_some_and(|i| i.state == State::Running)
    });
    if app_running {
        return InitProgress::Done;
    }
    for (index, c) in inits.iter().enumerate().rev() {
        if let Some(i) = rt.latest(&c.name).filter(|i| failed(i)) {
            return InitProgress::Next {
                index,
                failed: Some(i),
            };
        }
    }
    for (index, c) in inits.iter().enumerate().rev() {
        match rt.latest(&c.name).map(|i| i.state) {
            Some(State::Running) => return InitProgress::InProgress,
            Some(State::Exited) if index + 1 == inits.len() => return InitProgress::Done,
            Some(State::Exited) => {
                return InitProgress::Next {
                    index: index + 1,
                    failed: None,
                }
            }
            // never started, or created but not started: look further back
            _ => continue,
        }
    }
    InitProgress::Next {
        index: 0,
        failed: None,
    }
}
