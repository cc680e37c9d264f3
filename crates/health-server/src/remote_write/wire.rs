//! The Remote-Write 1.0 wire format: the `WriteRequest` protobuf (prometheus/prompb
//! `types.proto` and `remote.proto`, only the fields 1.0 senders fill), compressed with
//! block-format snappy (not the framed format), and the request headers the spec asks for.
//!
//! The structs are derived with prost rather than generated from `.proto` files, so the build
//! needs neither `protoc` nor a build script; the field numbers are the spec's.

/// `Content-Encoding` of every request.
pub const CONTENT_ENCODING: &str = "snappy";
/// `Content-Type` of every request.
pub const CONTENT_TYPE: &str = "application/x-protobuf";
/// The header naming the protocol version, and its value for 1.0.
pub const VERSION_HEADER: &str = "X-Prometheus-Remote-Write-Version";
/// Remote-Write 1.0.
pub const VERSION: &str = "0.1.0";
/// `User-Agent` of every request: receivers log it, and it tells a fleet's senders apart.
pub const USER_AGENT: &str = concat!("vimeo-monitor-health-server/", env!("CARGO_PKG_VERSION"));

/// The request body, before compression (`prometheus.WriteRequest`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series, sorted by their label sets.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// One series and its samples (`prometheus.TimeSeries`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Sorted by name, `__name__` included.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// In time order.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// One label (`prometheus.Label`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, prost::Message)]
pub struct Label {
    /// The label's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// One sample (`prometheus.Sample`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// Why a body is not a `WriteRequest`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Not block-format snappy, or it would decompress to more than allowed.
    #[error("not snappy-compressed data: {0}")]
    Snappy(String),
    /// Decompressed, but not a protobuf `WriteRequest`.
    #[error("not a protobuf WriteRequest: {0}")]
    Protobuf(#[from] prost::DecodeError),
}

impl WriteRequest {
    /// `series` as the spec orders them: labels by name within a series, series by their
    /// label sets (name, then value, pair by pair), samples by time.
    pub fn sorted(mut series: Vec<TimeSeries>) -> Self {
        for one in &mut series {
            one.labels.sort_by(|a, b| a.name.cmp(&b.name));
            one.samples.sort_by_key(|s| s.timestamp);
        }
        series.sort_by(|a, b| label_pairs(a).cmp(label_pairs(b)));
        Self { timeseries: series }
    }

    /// The request body: protobuf, then block-format snappy.
    pub fn compress(&self) -> Vec<u8> {
        use prost::Message as _;
        let raw = self.encode_to_vec();
        // The only failure is an input beyond snappy's ~4 GiB limit, which a queue capped far
        // below that cannot build.
        snap::raw::Encoder::new().compress_vec(&raw).unwrap_or_default()
    }

    /// A body back into a request; `max_len` bounds the decompressed size, so a foreign file
    /// or body cannot make us allocate gigabytes.
    pub fn decompress(body: &[u8], max_len: usize) -> Result<Self, WireError> {
        use prost::Message as _;
        let len = snap::raw::decompress_len(body).map_err(|e| WireError::Snappy(e.to_string()))?;
        if len > max_len {
            return Err(WireError::Snappy(format!(
                "it would decompress to {len} bytes, more than the {max_len} allowed"
            )));
        }
        let raw = snap::raw::Decoder::new()
            .decompress_vec(body)
            .map_err(|e| WireError::Snappy(e.to_string()))?;
        Ok(Self::decode(raw.as_slice())?)
    }

    /// How many samples it carries.
    pub fn samples(&self) -> usize {
        self.timeseries.iter().map(|s| s.samples.len()).sum()
    }
}

/// A series' labels as `(name, value)` pairs, for ordering series the way Prometheus does.
fn label_pairs(series: &TimeSeries) -> impl Iterator<Item = (&str, &str)> {
    series.labels.iter().map(|l| (l.name.as_str(), l.value.as_str()))
}

impl Label {
    /// `name="value"`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { name: name.into(), value: value.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::{Label, Sample, TimeSeries, WriteRequest};

    fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
        TimeSeries {
            labels: labels.iter().map(|(n, v)| Label::new(*n, *v)).collect(),
            samples: samples
                .iter()
                .map(|&(timestamp, value)| Sample { value, timestamp })
                .collect(),
        }
    }

    #[test]
    fn sorting_orders_labels_by_name_series_by_label_set_and_samples_by_time() {
        let request = WriteRequest::sorted(vec![
            series(&[("job", "b"), ("__name__", "up")], &[(2, 1.0), (1, 0.0)]),
            series(&[("job", "a"), ("__name__", "up")], &[(1, 1.0)]),
            series(&[("__name__", "cpu"), ("z", "1")], &[(1, 0.5)]),
            series(&[("__name__", "cpu")], &[(1, 0.25)]),
        ]);
        let names: Vec<Vec<(&str, &str)>> = request
            .timeseries
            .iter()
            .map(|s| s.labels.iter().map(|l| (l.name.as_str(), l.value.as_str())).collect())
            .collect();
        assert_eq!(
            names,
            vec![
                vec![("__name__", "cpu")],
                vec![("__name__", "cpu"), ("z", "1")],
                vec![("__name__", "up"), ("job", "a")],
                vec![("__name__", "up"), ("job", "b")],
            ]
        );
        let times: Vec<i64> = request.timeseries[3].samples.iter().map(|s| s.timestamp).collect();
        assert_eq!(times, vec![1, 2]);
    }

    #[test]
    fn a_request_survives_compression_and_the_field_numbers_are_the_specs() {
        let request =
            WriteRequest::sorted(vec![series(&[("__name__", "up")], &[(1_700_000_000_000, 1.0)])]);
        let body = request.compress();
        assert_eq!(WriteRequest::decompress(&body, 1 << 20).unwrap(), request);
        // Hand-encoded: WriteRequest.timeseries (1) → TimeSeries.labels (1) → Label.name (1),
        // Label.value (2); TimeSeries.samples (2) → Sample.value (1, double), Sample.timestamp
        // (2, varint).
        let mut expected = vec![0x0a, 0x22, 0x0a, 0x0e, 0x0a, 0x08];
        expected.extend_from_slice(b"__name__");
        expected.extend_from_slice(&[0x12, 0x02]);
        expected.extend_from_slice(b"up");
        expected.extend_from_slice(&[0x12, 0x10, 0x09]);
        expected.extend_from_slice(&1.0f64.to_le_bytes());
        expected.extend_from_slice(&[0x10, 0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31]);
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        assert_eq!(raw, expected);
    }

    #[test]
    fn garbage_and_bombs_are_errors_not_panics() {
        assert!(WriteRequest::decompress(b"not snappy at all", 1 << 20).is_err());
        let big = snap::raw::Encoder::new().compress_vec(&vec![0u8; 1 << 16]).unwrap();
        let error = WriteRequest::decompress(&big, 1024).unwrap_err().to_string();
        assert!(error.contains("more than the 1024 allowed"), "{error}");
        // Valid snappy, not a protobuf.
        let junk = snap::raw::Encoder::new().compress_vec(&[0xff; 32]).unwrap();
        assert!(WriteRequest::decompress(&junk, 1 << 20).is_err());
    }
}
