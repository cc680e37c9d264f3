//! The queue on disk, so that a restart or a power cut at a venue loses no samples: one file
//! per endpoint, `remote-write-<hash of the URL>.queue`, holding a magic line and the queue as
//! one snappy-compressed `WriteRequest` (the wire encoding: labels once per series, samples in
//! time order).
//!
//! SD cards wear with every write, so the file is written only when it matters:
//! - on shutdown, when samples are still queued;
//! - while running, only once samples have waited a whole interval without being delivered
//!   (the receiver is down or refusing), then at most once per interval while that lasts:
//!   a receiver that is up and a queue that drains cost no write at all;
//! - and it is removed (one unlink) once the queue drains again.
//!
//! A write is a temporary file, `fsync`, `rename` and an `fsync` of the directory: a power cut
//! leaves the old file or the new, never half of one.

use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use super::labels::{Interner, normalise};
use super::queue::{Entry, request};
use super::wire::WriteRequest;

/// The file's first bytes: tells our queue from anything else that may sit in the directory.
const MAGIC: &[u8; 16] = b"vimeo-monitor-rw";

/// The file name for the endpoint at `url`: FNV-1a of the URL, which (unlike std's hasher)
/// stays the same across Rust versions, so an upgrade finds its predecessor's queue.
pub(crate) fn file_name(url: &str) -> String {
    let hash = url.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("remote-write-{hash:016x}.queue")
}

/// What the file's owner must do at a periodic check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Nothing,
    Write,
    Remove,
}

/// One endpoint's file, and what was last written to it.
#[derive(Debug)]
pub(crate) struct QueueFile {
    pub(crate) path: PathBuf,
    pub(crate) max_bytes: u64,
    /// The queue's `(pushed, popped)` when the file was written; `None`: there is no file.
    pub(crate) written: Option<(u64, u64)>,
    /// `pushed` at the previous check.
    pub(crate) mark: Option<u64>,
}

/// A file that exists but whose content we do not know (foreign or corrupt): never equal to
/// a queue's counters, so it is replaced or removed at the next chance.
pub(crate) const UNKNOWN: (u64, u64) = (u64::MAX, u64::MAX);

impl QueueFile {
    pub(crate) fn new(dir: &Path, url: &str, max_bytes: u64) -> Self {
        Self { path: dir.join(file_name(url)), max_bytes, written: None, mark: None }
    }

    /// The periodic check, given the queue's counters now. Samples have waited a whole
    /// interval when some of those queued at the previous check are still there.
    pub(crate) fn check(&mut self, pushed: u64, popped: u64) -> Action {
        let stalled = pushed > popped && self.mark.is_some_and(|mark| popped < mark);
        self.mark = Some(pushed);
        match (stalled, self.written) {
            (true, Some(written)) if written == (pushed, popped) => Action::Nothing,
            (true, _) => Action::Write,
            (false, Some(_)) => Action::Remove,
            (false, None) => Action::Nothing,
        }
    }
}

/// Writes `entries` (oldest first) to `path`, the oldest left out beyond `max_bytes`; removes
/// the file when nothing is left. Returns how many samples were left out.
pub(crate) fn write(path: &Path, entries: &[Entry], max_bytes: u64) -> io::Result<usize> {
    let (body, skipped) = encode_capped(entries, max_bytes);
    if skipped == entries.len() {
        remove(path)?;
        return Ok(skipped);
    }
    let tmp = path.with_extension("queue.tmp");
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(MAGIC)?;
        file.write_all(&body)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map(|()| skipped)
}

/// The compressed queue and how many of its oldest samples it leaves out to fit `max_bytes`
/// with the magic. Compression makes the size known only afterwards: each try keeps the
/// newest share that should fit at the last try's ratio, less 5 %, and drops at least one.
fn encode_capped(entries: &[Entry], max_bytes: u64) -> (Vec<u8>, usize) {
    let mut skip = 0;
    loop {
        if skip == entries.len() {
            return (Vec::new(), skip);
        }
        let body = request(&entries[skip..]).compress();
        let size = (body.len() + MAGIC.len()) as u64;
        if size <= max_bytes {
            return (body, skip);
        }
        let kept = entries.len() - skip;
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "an estimate; the loop checks the real size"
        )]
        let fits = (kept as f64 * (max_bytes as f64 / size as f64) * 0.95) as usize;
        skip = entries.len() - fits.min(kept - 1);
    }
}

/// Why a file was not loaded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("not a remote_write queue file (it does not start with our marker)")]
    Foreign,
    #[error("{0}")]
    Wire(#[from] super::wire::WireError),
}

/// The samples in the file at `path`, oldest first; `Ok(None)` when there is no file.
pub(crate) fn read(path: &Path, interner: &mut Interner) -> Result<Option<Vec<Entry>>, ReadError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let body = bytes.strip_prefix(MAGIC.as_slice()).ok_or(ReadError::Foreign)?;
    // Snappy compresses at most ~21:1; more would be a forged length.
    let written = WriteRequest::decompress(body, body.len().saturating_mul(32).max(1 << 16))?;
    let mut entries = Vec::with_capacity(written.samples());
    for series in written.timeseries {
        let labels = normalise(series.labels.into_iter().map(|l| (l.name, l.value)).collect());
        if labels.is_empty() {
            continue;
        }
        let labels = interner.intern(labels);
        entries.extend(series.samples.into_iter().map(|s| Entry {
            labels: labels.clone(),
            timestamp: s.timestamp,
            value: s.value,
        }));
    }
    // The file holds series one after the other; the queue wants collection order back.
    entries.sort_by_key(|e| e.timestamp);
    Ok(Some(entries))
}

/// Removes the file at `path`, if there is one.
pub(crate) fn remove(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::{Action, QueueFile, UNKNOWN, file_name, read, write};
    use crate::remote_write::labels::Interner;
    use crate::remote_write::queue::Entry;

    fn entries(count: i64) -> Vec<Entry> {
        let mut interner = Interner::default();
        let sets: Vec<_> = ["cpu", "memory", "up"]
            .iter()
            .map(|name| {
                interner.intern(vec![
                    ("__name__".to_owned(), (*name).to_owned()),
                    ("instance".to_owned(), "kiosk-hall-a".to_owned()),
                ])
            })
            .collect();
        (0..count)
            .flat_map(|t| {
                #[allow(clippy::cast_precision_loss, reason = "small test numbers")]
                sets.iter().map(move |labels| Entry {
                    labels: labels.clone(),
                    timestamp: 1_700_000_000_000 + t * 15_000,
                    value: t as f64 * 1.5,
                })
            })
            .collect()
    }

    #[test]
    fn file_names_are_stable_and_differ_per_url() {
        assert_eq!(file_name(""), "remote-write-cbf29ce484222325.queue");
        assert_ne!(file_name("https://a.example/push"), file_name("https://b.example/push"));
    }

    #[test]
    fn written_and_read_back_in_time_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name("http://127.0.0.1/"));
        let queued = entries(100);
        assert_eq!(write(&path, &queued, 1 << 20).unwrap(), 0);
        let loaded = read(&path, &mut Interner::default()).unwrap().unwrap();
        let key = |e: &Entry| (e.timestamp, e.labels[0].1.clone(), e.value.to_bits());
        let mut expected: Vec<_> = queued.iter().map(key).collect();
        let mut got: Vec<_> = loaded.iter().map(key).collect();
        assert!(got.windows(2).all(|w| w[0].0 <= w[1].0), "time order");
        expected.sort();
        got.sort();
        assert_eq!(got, expected);
        assert!(!path.with_extension("queue.tmp").exists());
    }

    #[test]
    fn the_cap_keeps_the_newest_samples() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.queue");
        let queued = entries(20_000);
        let skipped = write(&path, &queued, 8_192).unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= 8_192, "{size}");
        assert!(skipped > 0 && skipped < queued.len(), "{skipped}");
        let loaded = read(&path, &mut Interner::default()).unwrap().unwrap();
        assert_eq!(loaded.len(), queued.len() - skipped);
        assert_eq!(loaded.last().unwrap().timestamp, queued.last().unwrap().timestamp);
        // Too small for anything: no file.
        assert_eq!(write(&path, &queued, 10).unwrap(), queued.len());
        assert!(!path.exists());
    }

    #[test]
    fn missing_foreign_and_corrupt_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.queue");
        assert!(read(&path, &mut Interner::default()).unwrap().is_none());
        std::fs::write(&path, b"# some other program's file\n").unwrap();
        let error = read(&path, &mut Interner::default()).unwrap_err().to_string();
        assert!(error.contains("not a remote_write queue file"), "{error}");
        write(&path, &entries(10), 1 << 20).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() - 7);
        std::fs::write(&path, &bytes).unwrap();
        assert!(read(&path, &mut Interner::default()).is_err());
    }

    #[test]
    fn periodic_writes_only_while_samples_wait() {
        let mut file = QueueFile::new(std::path::Path::new("/"), "u", 1);
        // (pushed, popped) at each check, and what it asks for.
        let steps = [
            ((4, 0), Action::Nothing),  // first check: nothing to compare with
            ((8, 4), Action::Nothing),  // what was there has gone: draining normally
            ((12, 8), Action::Nothing), // and again: no write while the receiver is up
            ((16, 8), Action::Write),   // the samples of the last check are still there
            ((16, 8), Action::Nothing), // already written, nothing changed
            ((20, 8), Action::Write),   // still stalled, more samples
            ((24, 20), Action::Remove), // delivered again: the file is stale
            ((28, 24), Action::Nothing),
        ];
        for (i, ((pushed, popped), expected)) in steps.into_iter().enumerate() {
            let action = file.check(pushed, popped);
            assert_eq!(action, expected, "step {i}");
            match action {
                Action::Write => file.written = Some((pushed, popped)),
                Action::Remove => file.written = None,
                Action::Nothing => {}
            }
        }
        // A foreign file found at start is replaced or removed, never kept.
        file.written = Some(UNKNOWN);
        assert_eq!(file.check(30, 30), Action::Remove);
    }
}
