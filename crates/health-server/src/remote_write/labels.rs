//! Label sets as the queue keeps them: normalised once (sorted by name, empty values and
//! repeated names left out) and shared, so an hour of queued samples holds each series' labels
//! once rather than once per sample, and the endpoints share them too.

use std::collections::HashSet;
use std::sync::Arc;

/// A normalised label set: sorted by name, names unique, no empty value.
pub(crate) type LabelSet = Arc<[(String, String)]>;

/// `labels` as the wire wants them. An empty value means "no such label" to Prometheus, and a
/// repeated name makes a receiver refuse the whole request, so both are left out here (the first
/// of a repeated name is kept).
pub(crate) fn normalise(mut labels: Vec<(String, String)>) -> Vec<(String, String)> {
    labels.retain(|(_, value)| !value.is_empty());
    labels.sort_by(|a, b| a.0.cmp(&b.0));
    labels.dedup_by(|later, earlier| later.0 == earlier.0);
    labels
}

/// The estimated bytes of one queued sample of `labels`: the 32-byte queue entry plus the label
/// set as if it were not shared (each name and value, and 4 bytes of framing each, about what
/// the protobuf takes). Sharing makes the real memory smaller, so the estimate is an upper bound.
pub(crate) fn sample_bytes(labels: &[(String, String)]) -> usize {
    32 + labels.iter().map(|(name, value)| name.len() + value.len() + 4).sum::<usize>()
}

/// Shares equal label sets. Sets no queue holds any more are forgotten once the table has
/// doubled since the last sweep, so the table stays proportional to what is queued.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    sets: HashSet<LabelSet>,
    swept_at: usize,
}

impl Interner {
    /// The shared set equal to `labels` (already normalised).
    pub(crate) fn intern(&mut self, labels: Vec<(String, String)>) -> LabelSet {
        if let Some(set) = self.sets.get(labels.as_slice()) {
            return Arc::clone(set);
        }
        if self.sets.len() >= 2 * self.swept_at.max(1024) {
            self.sets.retain(|set| Arc::strong_count(set) > 1);
            self.swept_at = self.sets.len();
        }
        let set: LabelSet = labels.into();
        self.sets.insert(Arc::clone(&set));
        set
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.sets.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{Interner, normalise, sample_bytes};

    fn owned(labels: &[(&str, &str)]) -> Vec<(String, String)> {
        labels.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn normalising_sorts_and_drops_empty_values_and_repeated_names() {
        type Pairs = &'static [(&'static str, &'static str)];
        let table: &[(Pairs, Pairs)] = &[
            (
                &[("b", "1"), ("__name__", "up"), ("a", "2")],
                &[("__name__", "up"), ("a", "2"), ("b", "1")],
            ),
            (&[("__name__", "up"), ("empty", "")], &[("__name__", "up")]),
            (
                &[("__name__", "up"), ("a", "first"), ("a", "second")],
                &[("__name__", "up"), ("a", "first")],
            ),
            (&[], &[]),
        ];
        for (input, expected) in table {
            assert_eq!(normalise(owned(input)), owned(expected), "{input:?}");
        }
    }

    #[test]
    fn the_byte_estimate_counts_names_values_and_framing() {
        assert_eq!(sample_bytes(&owned(&[("__name__", "up")])), 32 + 8 + 2 + 4);
        assert_eq!(sample_bytes(&[]), 32);
    }

    #[test]
    fn equal_sets_are_shared_and_unused_ones_forgotten() {
        let mut interner = Interner::default();
        let a = interner.intern(owned(&[("__name__", "up")]));
        let b = interner.intern(owned(&[("__name__", "up")]));
        assert!(Arc::ptr_eq(&a, &b));
        drop((a, b));
        let kept = interner.intern(owned(&[("__name__", "kept")]));
        for i in 0..3000 {
            drop(interner.intern(owned(&[("__name__", &format!("m{i}"))])));
        }
        // Swept at 2048: only what is still held (plus what came after the sweep) remains.
        assert!(interner.len() < 2048, "{}", interner.len());
        let again = interner.intern(owned(&[("__name__", "kept")]));
        assert!(Arc::ptr_eq(&kept, &again));
    }
}
