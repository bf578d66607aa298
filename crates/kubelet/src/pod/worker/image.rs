//! Making a container's image present per its pull policy, with upstream's
//! events (Pulling, Pulled, Failed, BackOff) and waiting reasons
//! (ErrImagePull, ImagePullBackOff, ErrImageNeverPull), and the image pull
//! back-off.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Container, Pod};

use super::Worker;
use crate::pod::backoff::go_duration;
use crate::pod::config::sandbox_config;
use skiff_client::events::{NORMAL, WARNING};

/// The pull policy of `c`: its own, else `IfNotPresent` for an image with a
/// tag other than `latest` or a digest, else `Always`.
fn pull_policy(c: &Container, image: &str) -> String {
    if let Some(p) = &c.image_pull_policy {
        return p.clone();
    }
    let tagged = image
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains(':') && !last.ends_with(":latest"));
    if tagged || image.contains('@') {
        "IfNotPresent".into()
    } else {
        "Always".into()
    }
}

impl Worker {
    /// Pull the image if the policy says so. Err(delay) when it is not available.
    pub(super) async fn ensure_image(
        &mut self,
        pod: &Pod,
        c: &Container,
        init: bool,
    ) -> Result<(), Duration> {
        let image = c.image.clone().unwrap_or_default();
        let policy = pull_policy(c, &image);
        let present = self.shared.cri.image_status(&image).await.ok().flatten();
        if policy != "Always" && present.is_some() {
            let msg = format!("Container image \"{image}\" already present on machine");
            self.event(pod, Some((c, init)), NORMAL, "Pulled", msg);
            return Ok(());
        }
        if policy == "Never" {
            let msg =
                format!("Container image \"{image}\" is not present with pull policy of Never");
            self.waiting
                .insert(c.name.clone(), ("ErrImageNeverPull".into(), msg.clone()));
            self.event(pod, Some((c, init)), WARNING, "ErrImageNeverPull", msg);
            return Err(Duration::from_secs(10));
        }
        let now = Utc::now();
        let key = pull_key(pod, &image);
        if let Some((failed_at, err)) = self.pull_failed.get(&image).cloned() {
            if let Some((_, until)) = self.shared.image_backoff.in_backoff(&key, failed_at, now) {
                self.pull_held(pod, c, init, &image, &err);
                return Err((until - now).to_std().unwrap_or(Duration::from_secs(1)));
            }
        }
        self.pull(pod, c, init, &image, now).await
    }

    /// Report a pull the back-off holds (ImagePullBackOff).
    fn pull_held(&mut self, pod: &Pod, c: &Container, init: bool, image: &str, err: &str) {
        let msg = format!("Back-off pulling image \"{image}\": ErrImagePull: {err}");
        self.waiting
            .insert(c.name.clone(), ("ImagePullBackOff".into(), msg));
        let text = format!("Back-off pulling image \"{image}\"");
        self.event(pod, Some((c, init)), NORMAL, "BackOff", text);
        let text = "Error: ImagePullBackOff".to_string();
        self.event(pod, Some((c, init)), WARNING, "Failed", text);
    }

    /// Pull `image` now; a failure starts or extends the pull back-off.
    async fn pull(
        &mut self,
        pod: &Pod,
        c: &Container,
        init: bool,
        image: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Duration> {
        let text = format!("Pulling image \"{image}\"");
        self.event(pod, Some((c, init)), NORMAL, "Pulling", text);
        let started = Instant::now();
        let sandbox = sandbox_config(&self.shared.cfg, pod, 0);
        let cri = self.shared.cri.clone();
        if let Err(e) = cri.pull_image(image, Some(sandbox)).await {
            let err = e.to_string();
            self.shared.image_backoff.next(&pull_key(pod, image), now);
            self.pull_failed
                .insert(image.to_string(), (now, err.clone()));
            let text = format!("Failed to pull image \"{image}\": {err}");
            self.event(pod, Some((c, init)), WARNING, "Failed", text);
            let text = "Error: ErrImagePull".to_string();
            self.event(pod, Some((c, init)), WARNING, "Failed", text);
            self.waiting
                .insert(c.name.clone(), ("ErrImagePull".into(), err));
            return Err(Duration::from_secs(1));
        }
        let took = chrono::Duration::milliseconds(started.elapsed().as_millis() as i64);
        let size = cri
            .image_status(image)
            .await
            .ok()
            .flatten()
            .map(|i| i.size)
            .unwrap_or(0);
        self.pull_failed.remove(image);
        let text = format!(
            "Successfully pulled image \"{image}\" in {} ({} including waiting). Image size: {size} bytes.",
            go_duration(took),
            go_duration(took)
        );
        self.event(pod, Some((c, init)), NORMAL, "Pulled", text);
        Ok(())
    }
}

/// The image back-off key of `image` for this pod.
fn pull_key(pod: &Pod, image: &str) -> String {
    format!(
        "image/{}/{image}",
        pod.metadata.uid.as_deref().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pull_policy_follows_the_tag() {
        let cases = [
            ("busybox", None, "Always"),
            ("busybox:latest", None, "Always"),
            ("busybox:1.36", None, "IfNotPresent"),
            ("registry:5000/busybox", None, "Always"),
            ("registry:5000/busybox:1.36", None, "IfNotPresent"),
            ("busybox@sha256:abc", None, "IfNotPresent"),
            ("busybox", Some("Never"), "Never"),
        ];
        for (image, own, want) in cases {
            let c = Container {
                image: Some(image.into()),
                image_pull_policy: own.map(str::to_string),
                ..Default::default()
            };
            assert_eq!(pull_policy(&c, image), want, "{image}");
        }
    }
}
