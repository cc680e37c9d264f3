//! One endpoint's queue: samples in the order they were collected (so each series' samples are
//! in time order), bounded by a sample count and an estimated byte size, the oldest dropped
//! first when full; and the request being sent, kept whole until the receiver has answered.

use std::collections::{BTreeMap, VecDeque};

use super::labels::{LabelSet, sample_bytes};
use super::wire::{Label, Sample, TimeSeries, WriteRequest};

/// One queued sample.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) labels: LabelSet,
    pub(crate) timestamp: i64,
    pub(crate) value: f64,
}

impl Entry {
    fn bytes(&self) -> usize {
        sample_bytes(&self.labels)
    }
}

/// The queue. The request in flight counts against the caps but is never dropped for room:
/// it is the receiver's to accept or refuse, and the caps are exceeded by at most one request.
#[derive(Debug)]
pub(crate) struct Queue {
    waiting: VecDeque<Entry>,
    waiting_bytes: usize,
    in_flight: Vec<Entry>,
    in_flight_bytes: usize,
    max_samples: usize,
    max_bytes: usize,
    /// Samples dropped for room, ever.
    pub(crate) overflowed: u64,
    /// Samples ever queued, and ever taken out (delivered, refused or dropped): whatever was
    /// queued before a moment when `pushed` was N has left once `popped` reaches N.
    pub(crate) pushed: u64,
    pub(crate) popped: u64,
}

impl Queue {
    pub(crate) fn new(max_samples: usize, max_bytes: usize) -> Self {
        Self {
            waiting: VecDeque::new(),
            waiting_bytes: 0,
            in_flight: Vec::new(),
            in_flight_bytes: 0,
            max_samples: max_samples.max(1),
            max_bytes,
            overflowed: 0,
            pushed: 0,
            popped: 0,
        }
    }

    /// Appends `entries` (newest last), then drops the oldest waiting samples until the queue
    /// fits its caps again; returns how many were dropped.
    pub(crate) fn push(&mut self, entries: impl IntoIterator<Item = Entry>) -> usize {
        for entry in entries {
            self.waiting_bytes += entry.bytes();
            self.waiting.push_back(entry);
            self.pushed += 1;
        }
        let mut dropped = 0;
        while self.samples() > self.max_samples || self.bytes() > self.max_bytes {
            let Some(oldest) = self.waiting.pop_front() else { break };
            self.waiting_bytes -= oldest.bytes();
            self.popped += 1;
            dropped += 1;
        }
        self.overflowed += dropped as u64;
        dropped
    }

    /// Samples queued, the request in flight included.
    pub(crate) fn samples(&self) -> usize {
        self.waiting.len() + self.in_flight.len()
    }

    /// Their estimated bytes ([`sample_bytes`]).
    pub(crate) fn bytes(&self) -> usize {
        self.waiting_bytes + self.in_flight_bytes
    }

    /// The timestamp of the oldest queued sample.
    pub(crate) fn oldest_ms(&self) -> Option<i64> {
        let first = self.in_flight.first().or_else(|| self.waiting.front())?.timestamp;
        let waiting = self.waiting.front().map_or(first, |e| e.timestamp);
        Some(first.min(waiting))
    }

    /// Moves the oldest `max` waiting samples into a new request in flight and returns it;
    /// `None` when nothing waits. The previous request must be finished or given back first.
    pub(crate) fn start_request(&mut self, max: usize) -> Option<WriteRequest> {
        debug_assert!(self.in_flight.is_empty(), "one request at a time");
        if self.waiting.is_empty() {
            return None;
        }
        let count = max.max(1).min(self.waiting.len());
        self.in_flight.extend(self.waiting.drain(..count));
        self.in_flight_bytes = self.in_flight.iter().map(Entry::bytes).sum();
        self.waiting_bytes -= self.in_flight_bytes;
        Some(request(&self.in_flight))
    }

    /// The request in flight has been answered (accepted or refused): its samples leave.
    pub(crate) fn finish_request(&mut self) -> usize {
        let count = self.in_flight.len();
        self.in_flight.clear();
        self.in_flight_bytes = 0;
        self.popped += count as u64;
        count
    }

    /// The request in flight goes back to the front of the queue, unanswered (shutting down).
    pub(crate) fn give_back_request(&mut self) {
        self.waiting_bytes += self.in_flight_bytes;
        self.in_flight_bytes = 0;
        for entry in self.in_flight.drain(..).rev() {
            self.waiting.push_front(entry);
        }
    }

    /// Every queued sample, oldest first (for persisting).
    pub(crate) fn entries(&self) -> Vec<Entry> {
        self.in_flight.iter().chain(&self.waiting).cloned().collect()
    }
}

/// `entries` as one request: a series per label set, series sorted by their labels, each
/// series' samples in time order (the order of `entries` among equal times).
pub(crate) fn request(entries: &[Entry]) -> WriteRequest {
    let mut series: BTreeMap<&[(String, String)], Vec<Sample>> = BTreeMap::new();
    for entry in entries {
        series
            .entry(&entry.labels)
            .or_default()
            .push(Sample { value: entry.value, timestamp: entry.timestamp });
    }
    let timeseries = series
        .into_iter()
        .map(|(labels, mut samples)| {
            samples.sort_by_key(|s| s.timestamp);
            TimeSeries {
                labels: labels.iter().map(|(name, value)| Label::new(name, value)).collect(),
                samples,
            }
        })
        .collect();
    WriteRequest { timeseries }
}

#[cfg(test)]
mod tests {
    use super::{Entry, Queue, request};
    use crate::remote_write::labels::{LabelSet, sample_bytes};

    fn set(name: &str) -> LabelSet {
        vec![("__name__".to_owned(), name.to_owned())].into()
    }

    fn entry(name: &str, timestamp: i64) -> Entry {
        #[allow(clippy::cast_precision_loss, reason = "small test numbers")]
        Entry { labels: set(name), timestamp, value: timestamp as f64 }
    }

    fn times(request: &crate::remote_write::wire::WriteRequest) -> Vec<(String, Vec<i64>)> {
        request
            .timeseries
            .iter()
            .map(|s| (s.labels[0].value.clone(), s.samples.iter().map(|s| s.timestamp).collect()))
            .collect()
    }

    #[test]
    fn a_full_queue_drops_its_oldest_samples_and_counts_them() {
        let mut queue = Queue::new(3, usize::MAX);
        assert_eq!(queue.push((1..=5).map(|t| entry("up", t))), 2);
        assert_eq!(queue.overflowed, 2);
        assert_eq!(queue.samples(), 3);
        assert_eq!(queue.oldest_ms(), Some(3));
        assert_eq!((queue.pushed, queue.popped), (5, 2));
    }

    #[test]
    fn the_byte_cap_counts_the_estimate() {
        let per_sample = sample_bytes(&set("up"));
        let mut queue = Queue::new(usize::MAX, per_sample * 2 + 1);
        queue.push((1..=4).map(|t| entry("up", t)));
        assert_eq!((queue.samples(), queue.bytes(), queue.overflowed), (2, per_sample * 2, 2));
    }

    #[test]
    fn requests_take_the_oldest_first_and_group_series_in_time_order() {
        let mut queue = Queue::new(100, usize::MAX);
        queue.push([entry("b", 1), entry("a", 1), entry("b", 2), entry("a", 2), entry("b", 3)]);
        let first = queue.start_request(4).unwrap();
        assert_eq!(times(&first), vec![("a".into(), vec![1, 2]), ("b".into(), vec![1, 2])]);
        assert_eq!(queue.samples(), 5, "the request in flight is still queued");
        assert_eq!(queue.finish_request(), 4);
        let second = queue.start_request(4).unwrap();
        assert_eq!(times(&second), vec![("b".into(), vec![3])]);
        queue.finish_request();
        assert!(queue.start_request(4).is_none());
        assert_eq!((queue.samples(), queue.bytes(), queue.oldest_ms()), (0, 0, None));
    }

    #[test]
    fn the_request_in_flight_is_never_dropped_for_room_and_can_be_given_back() {
        let mut queue = Queue::new(3, usize::MAX);
        queue.push((1..=3).map(|t| entry("up", t)));
        queue.start_request(2).unwrap();
        queue.push([entry("up", 4), entry("up", 5)]);
        // 1 and 2 are in flight: 3 and 4 made room for 5.
        assert_eq!(queue.overflowed, 2);
        let kept: Vec<i64> = queue.entries().iter().map(|e| e.timestamp).collect();
        assert_eq!(kept, vec![1, 2, 5]);
        queue.give_back_request();
        assert_eq!(times(&queue.start_request(10).unwrap()), vec![("up".into(), vec![1, 2, 5])]);
    }

    #[test]
    fn a_request_of_nothing_is_empty() {
        assert!(request(&[]).timeseries.is_empty());
    }
}
