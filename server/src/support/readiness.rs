//! Whether this instance can serve yet: false from start until its database has answered and been
//! migrated, then true for good (a later outage is answered request by request, not by this flag).

use std::sync::Arc;

use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct Readiness(Arc<watch::Sender<bool>>);

impl Default for Readiness {
    fn default() -> Self {
        Readiness(Arc::new(watch::channel(false).0))
    }
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        *self.0.borrow()
    }

    pub fn set_ready(&self) {
        self.0.send_replace(true);
    }

    /// Completes once the instance is ready (at once if it already is).
    pub async fn wait(&self) {
        let mut ready = self.0.subscribe();
        // The sender lives in `self`, so the channel cannot close while this waits.
        let _ = ready.wait_for(|ready| *ready).await;
    }
}
