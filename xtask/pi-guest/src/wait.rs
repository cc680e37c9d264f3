//! Waiting with a deadline for something to become true, looking again every `POLL`.

use std::time::{Duration, Instant};

/// How often a wait looks again.
pub(crate) const POLL: Duration = Duration::from_millis(100);

/// Waits until `probe` gives `Some`, at most `within`, while process `watched` lives; the value
/// and how long it took, or an error naming `what`.
pub(crate) async fn until<T>(
    watched: u32,
    what: &str,
    within: Duration,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> anyhow::Result<(T, Duration)> {
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return Ok((value, started.elapsed()));
        }
        if !crate::procfs::process(watched).is_some_and(|p| p.alive()) {
            anyhow::bail!("process {watched} exited while waiting for: {what}");
        }
        if started.elapsed() >= within {
            anyhow::bail!("not within {within:?}: {what}");
        }
        tokio::time::sleep(POLL).await;
    }
}
