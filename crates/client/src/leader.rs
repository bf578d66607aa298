//! Leader election through a `coordination.k8s.io/v1` Lease, like client-go's
//! leaderelection: acquire, renew every retry period, step down when renewal fails.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use tracing::{info, warn};

/// Errors of leader election.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// The API refused a lease operation.
    #[error("lease {namespace}/{name}: {source}")]
    Api {
        /// Lease namespace.
        namespace: String,
        /// Lease name.
        name: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// The lease could not be renewed within the renew deadline.
    #[error("lost leadership of lease {0}")]
    Lost(String),
}

/// Which lease to hold, and timing (client-go defaults: 15s / 10s / 2s).
#[derive(Debug, Clone)]
pub struct LeaseLock {
    /// Lease namespace, e.g. `kube-system`.
    pub namespace: String,
    /// Lease name, e.g. `kube-scheduler`.
    pub name: String,
    /// This candidate's identity.
    pub identity: String,
    /// How long a lease is valid without renewal.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before giving up.
    pub renew_deadline: Duration,
    /// Interval between attempts.
    pub retry_period: Duration,
}

impl LeaseLock {
    /// A lock with client-go's default timing.
    pub fn new(namespace: &str, name: &str, identity: &str) -> Self {
        LeaseLock {
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// What to do with the lease as observed (a decision, as data).
#[derive(Debug, Clone, PartialEq)]
pub enum LeaseAction {
    /// No lease exists: create it with this spec.
    Create(LeaseSpec),
    /// Write this spec over the observed lease (renew, or take over an expired one).
    Update(LeaseSpec),
    /// Someone else holds a valid lease.
    Wait,
}

fn micros(t: &MicroTime) -> i64 {
    t.0.as_microsecond()
}

/// Decides the next lease action for `identity` at `now`.
pub fn decide(
    observed: Option<&LeaseSpec>,
    identity: &str,
    duration: Duration,
    now: Timestamp,
) -> LeaseAction {
    let secs = duration.as_secs() as i32;
    let fresh = |transitions: i32, acquire: Option<MicroTime>| LeaseSpec {
        holder_identity: Some(identity.to_string()),
        lease_duration_seconds: Some(secs),
        acquire_time: acquire.or(Some(MicroTime(now))),
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(transitions),
        ..Default::default()
    };
    let Some(spec) = observed else {
        return LeaseAction::Create(fresh(0, None));
    };
    let holder = spec.holder_identity.as_deref().unwrap_or("");
    let transitions = spec.lease_transitions.unwrap_or(0);
    if holder == identity {
        return LeaseAction::Update(fresh(transitions, spec.acquire_time.clone()));
    }
    let valid_for = i64::from(spec.lease_duration_seconds.unwrap_or(secs)) * 1_000_000;
    let renewed = spec
        .renew_time
        .as_ref()
        .or(spec.acquire_time.as_ref())
        .map(micros)
        .unwrap_or(0);
    if !holder.is_empty() && renewed + valid_for > now.as_microsecond() {
        return LeaseAction::Wait;
    }
    LeaseAction::Update(fresh(transitions + 1, None))
}

/// One attempt to acquire or renew; true when we hold the lease afterwards.
pub async fn try_acquire_or_renew(api: &Api<Lease>, lock: &LeaseLock) -> Result<bool, kube::Error> {
    let current = api.get_opt(&lock.name).await?;
    let action = decide(
        current.as_ref().and_then(|l| l.spec.as_ref()),
        &lock.identity,
        lock.lease_duration,
        Timestamp::now(),
    );
    match action {
        LeaseAction::Wait => Ok(false),
        LeaseAction::Create(spec) => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(lock.name.clone()),
                    namespace: Some(lock.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(spec),
            };
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
        LeaseAction::Update(spec) => {
            let mut lease = current.unwrap_or_default();
            lease.spec = Some(spec);
            match api
                .replace(&lock.name, &PostParams::default(), &lease)
                .await
            {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
    }
}

/// Runs `work` while holding the lease (or directly when `enabled` is false); returns when
/// `work` ends, `shutdown` fires, or leadership is lost (an error, like upstream's exit).
pub async fn run_elected<W, S>(
    client: kube::Client,
    enabled: bool,
    lock: LeaseLock,
    work: W,
    shutdown: S,
) -> Result<(), LeaderError>
where
    W: Future<Output = ()> + Send,
    S: Future<Output = ()> + Send,
{
    tokio::pin!(shutdown);
    if !enabled {
        tokio::select! {
            _ = work => {},
            _ = &mut shutdown => {},
        }
        return Ok(());
    }
    let api: Api<Lease> = Api::namespaced(client, &lock.namespace);
    let err = |source| LeaderError::Api {
        namespace: lock.namespace.clone(),
        name: lock.name.clone(),
        source,
    };
    loop {
        match try_acquire_or_renew(&api, &lock).await {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => warn!(lease = %lock.name, error = %err(e), "acquiring lease"),
        }
        tokio::select! {
            _ = tokio::time::sleep(lock.retry_period) => {},
            _ = &mut shutdown => return Ok(()),
        }
    }
    info!(lease = %lock.name, identity = %lock.identity, "became leader");
    let renew = async {
        let mut last_ok = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(lock.retry_period).await;
            match try_acquire_or_renew(&api, &lock).await {
                Ok(true) => last_ok = tokio::time::Instant::now(),
                Ok(false) => return LeaderError::Lost(lock.name.clone()),
                Err(e) => warn!(lease = %lock.name, error = %e, "renewing lease"),
            }
            if last_ok.elapsed() > lock.renew_deadline {
                return LeaderError::Lost(lock.name.clone());
            }
        }
    };
    tokio::select! {
        _ = work => Ok(()),
        e = renew => Err(e),
        _ = &mut shutdown => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn held(by: &str, renewed: i64, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(by.into()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(MicroTime(at(1000))),
            renew_time: Some(MicroTime(at(renewed))),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }

    #[test]
    fn table() {
        let d = Duration::from_secs(15);
        assert!(
            matches!(decide(None, "me", d, at(2000)), LeaseAction::Create(s) if s.lease_transitions == Some(0))
        );
        assert_eq!(
            decide(Some(&held("other", 1995, 3)), "me", d, at(2000)),
            LeaseAction::Wait
        );
        match decide(Some(&held("other", 1980, 3)), "me", d, at(2000)) {
            LeaseAction::Update(s) => {
                assert_eq!(s.holder_identity.as_deref(), Some("me"));
                assert_eq!(s.lease_transitions, Some(4));
                assert_eq!(s.acquire_time, Some(MicroTime(at(2000))));
            }
            a => panic!("{a:?}"),
        }
        match decide(Some(&held("me", 1995, 3)), "me", d, at(2000)) {
            LeaseAction::Update(s) => {
                assert_eq!(s.lease_transitions, Some(3));
                assert_eq!(s.acquire_time, Some(MicroTime(at(1000))));
                assert_eq!(s.renew_time, Some(MicroTime(at(2000))));
            }
            a => panic!("{a:?}"),
        }
        assert!(matches!(
            decide(Some(&held("", 1999, 1)), "me", d, at(2000)),
            LeaseAction::Update(_)
        ));
    }
}
