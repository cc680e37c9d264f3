//! remote_write delivery against a real receiver: an axum server on 127.0.0.1 that decodes
//! snappy + protobuf with our own wire types, records every request and answers as scripted.

#![allow(unreachable_pub)]

mod remote_write {
    use std::collections::{BTreeMap, VecDeque};
    use std::net::SocketAddr;
    use std::path::Path;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use axum::Router;
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use health_server::config::Secret;
    use health_server::remote_write::wire::WriteRequest;
    use health_server::remote_write::{
        Auth, Batch, Delivery, DeliveryOptions, Endpoint, EndpointStats, Persist, Series,
    };
    use tokio::net::TcpListener;

    const T0: i64 = 1_700_000_000_000;

    /// How the receiver answers one request.
    #[derive(Debug, Clone)]
    struct Reply {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    }

    impl Reply {
        fn status(status: u16) -> Self {
            Self { status, headers: Vec::new(), body: String::new() }
        }
    }

    /// One request as the receiver saw it.
    #[derive(Debug, Clone)]
    struct Received {
        at: Instant,
        path: String,
        headers: HeaderMap,
        body: Vec<u8>,
        request: WriteRequest,
        status: u16,
    }

    #[derive(Debug)]
    struct Log {
        received: Mutex<Vec<Received>>,
        script: Mutex<VecDeque<Reply>>,
        otherwise: Mutex<Reply>,
    }

    #[derive(Debug, Clone)]
    struct Receiver {
        addr: SocketAddr,
        log: Arc<Log>,
    }

    impl Receiver {
        /// Serves on `listener`: first the `script`ed answers, then `otherwise`.
        fn start(listener: TcpListener, script: Vec<Reply>, otherwise: Reply) -> Self {
            let addr = listener.local_addr().unwrap();
            let log = Arc::new(Log {
                received: Mutex::new(Vec::new()),
                script: Mutex::new(script.into()),
                otherwise: Mutex::new(otherwise),
            });
            let app = Router::new().route("/{*path}", post(receive)).with_state(Arc::clone(&log));
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            Self { addr, log }
        }

        async fn ok() -> Self {
            Self::start(TcpListener::bind("127.0.0.1:0").await.unwrap(), vec![], Reply::status(200))
        }

        fn url(&self, path: &str) -> reqwest::Url {
            format!("http://{}/{path}", self.addr).parse().unwrap()
        }

        fn answer(&self, reply: Reply) {
            *self.log.otherwise.lock().unwrap() = reply;
        }

        fn received(&self) -> Vec<Received> {
            self.log.received.lock().unwrap().clone()
        }

        /// Every sample answered with 2xx, per series (`__name__`), in arrival order.
        fn delivered(&self) -> BTreeMap<String, Vec<i64>> {
            let mut series: BTreeMap<String, Vec<i64>> = BTreeMap::new();
            for received in self.received().iter().filter(|r| r.status < 300) {
                for one in &received.request.timeseries {
                    let name = one.labels.iter().find(|l| l.name == "__name__").unwrap();
                    series
                        .entry(name.value.clone())
                        .or_default()
                        .extend(one.samples.iter().map(|s| s.timestamp));
                }
            }
            series
        }
    }

    async fn receive(
        State(log): State<Arc<Log>>,
        uri: axum::http::Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let request = WriteRequest::decompress(&body, 1 << 24).expect("snappy + protobuf");
        let reply = log
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| log.otherwise.lock().unwrap().clone());
        log.received.lock().unwrap().push(Received {
            at: Instant::now(),
            path: uri.path().to_owned(),
            headers,
            body: body.to_vec(),
            request,
            status: reply.status,
        });
        let mut response =
            (StatusCode::from_u16(reply.status).unwrap(), reply.body.clone()).into_response();
        for (name, value) in reply.headers {
            response.headers_mut().insert(name, value.parse().unwrap());
        }
        response
    }

    /// One collection at `T0 + step * 15 s`: one sample per name, labels out of order.
    fn batch(step: i64, names: &[&str]) -> Batch {
        let series = names
            .iter()
            .map(|name| Series {
                labels: vec![
                    ("job".to_owned(), "vimeo-monitor".to_owned()),
                    ("__name__".to_owned(), (*name).to_owned()),
                    ("instance".to_owned(), "kiosk-hall-a".to_owned()),
                ],
                #[allow(clippy::cast_precision_loss, reason = "small test numbers")]
                samples: vec![(T0 + step * 15_000, step as f64)],
            })
            .collect();
        Batch { series }
    }

    fn steps(range: std::ops::Range<i64>) -> Vec<i64> {
        range.map(|step| T0 + step * 15_000).collect()
    }

    fn options(endpoints: Vec<Endpoint>) -> DeliveryOptions {
        let mut options = DeliveryOptions::new(endpoints);
        options.backoff = (Duration::from_millis(20), Duration::from_millis(200));
        options.timeout = Duration::from_secs(5);
        options
    }

    fn endpoint(url: reqwest::Url) -> Endpoint {
        Endpoint { url, auth: Auth::None }
    }

    /// Polls `condition` every 10 ms for at most 10 s.
    async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
        let started = Instant::now();
        while !condition() {
            assert!(started.elapsed() < Duration::from_secs(10), "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn only(delivery: &Delivery) -> EndpointStats {
        delivery.stats().remove(0)
    }

    fn files(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> =
            std::fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().path()).collect();
        files.sort();
        files
    }

    #[tokio::test]
    async fn remote_write_sends_the_specs_headers_sorted_series_and_credentials() {
        let receiver = Receiver::ok().await;
        let delivery = Delivery::start(options(vec![
            Endpoint {
                url: receiver.url("primary?tenant=a"),
                auth: Auth::Bearer(Secret::new("t0ken")),
            },
            Endpoint {
                url: receiver.url("backup"),
                auth: Auth::Basic { username: "kiosk".into(), password: Secret::new("pa55") },
            },
        ]))
        .unwrap();
        delivery.enqueue(batch(0, &["up", "cpu_usage_ratio", "memory_bytes"]));
        wait_for("both endpoints", || delivery.stats().iter().all(|s| s.samples_sent == 3)).await;

        let received = receiver.received();
        assert_eq!(received.len(), 2, "one request per endpoint");
        for one in &received {
            let header = |name: &str| one.headers.get(name).unwrap().to_str().unwrap().to_owned();
            assert_eq!(header("content-encoding"), "snappy");
            assert_eq!(header("content-type"), "application/x-protobuf");
            assert_eq!(header("x-prometheus-remote-write-version"), "0.1.0");
            assert!(header("user-agent").starts_with("vimeo-monitor-health-server/"), "{one:?}");
            // Block snappy: the framed format would start with its stream identifier.
            assert!(snap::raw::decompress_len(&one.body).is_ok());
            assert_ne!(one.body[0], 0xff);
            let names: Vec<&str> =
                one.request.timeseries.iter().map(|s| s.labels[0].value.as_str()).collect();
            assert_eq!(names, vec!["cpu_usage_ratio", "memory_bytes", "up"]);
            for series in &one.request.timeseries {
                let labels: Vec<&str> = series.labels.iter().map(|l| l.name.as_str()).collect();
                assert_eq!(labels, vec!["__name__", "instance", "job"]);
                assert_eq!(series.samples.len(), 1);
                assert_eq!(series.samples[0].timestamp, T0);
            }
        }
        let auth = |path: &str| {
            let one = received.iter().find(|r| r.path == path).unwrap();
            one.headers.get("authorization").unwrap().to_str().unwrap().to_owned()
        };
        assert_eq!(auth("/primary"), "Bearer t0ken");
        assert_eq!(auth("/backup"), "Basic a2lvc2s6cGE1NQ==");
        let stats = delivery.stats();
        assert_eq!(stats[0].url, format!("http://{}/primary", receiver.addr), "redacted");
        assert!(stats.iter().all(|s| s.last_success.is_some() && s.queue_samples == 0));
        delivery.shutdown(Duration::from_secs(1)).await;
    }

    #[tokio::test]
    async fn remote_write_retries_the_same_request_after_a_500_and_loses_nothing() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver::start(listener, vec![Reply::status(500)], Reply::status(200));
        let delivery = Delivery::start(options(vec![endpoint(receiver.url("write"))])).unwrap();
        delivery.enqueue(batch(0, &["a", "b"]));
        wait_for("delivery", || only(&delivery).samples_sent == 2).await;
        let received = receiver.received();
        assert_eq!(received.iter().map(|r| r.status).collect::<Vec<_>>(), vec![500, 200]);
        assert_eq!(received[0].body, received[1].body, "the same request again");
        let stats = only(&delivery);
        assert_eq!((stats.samples_retried, stats.samples_rejected, stats.queue_samples), (2, 0, 0));
        assert_eq!(receiver.delivered().values().flatten().count(), 2, "delivered once");
        delivery.shutdown(Duration::from_secs(1)).await;
    }

    #[tokio::test]
    async fn remote_write_waits_as_long_as_retry_after_says() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let slow_down = Reply { headers: vec![("retry-after", "1".into())], ..Reply::status(429) };
        let receiver = Receiver::start(listener, vec![slow_down], Reply::status(200));
        let mut options = options(vec![endpoint(receiver.url("write"))]);
        options.backoff = (Duration::from_millis(10), Duration::from_secs(5));
        let delivery = Delivery::start(options).unwrap();
        delivery.enqueue(batch(0, &["a"]));
        wait_for("delivery", || only(&delivery).samples_sent == 1).await;
        let received = receiver.received();
        assert_eq!(received.iter().map(|r| r.status).collect::<Vec<_>>(), vec![429, 200]);
        let waited = received[1].at - received[0].at;
        assert!(waited >= Duration::from_secs(1), "retried after {waited:?}, not 1 s");
        delivery.shutdown(Duration::from_secs(1)).await;
    }

    #[tokio::test]
    async fn remote_write_never_waits_beyond_the_backoff_cap() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let go_away = Reply { headers: vec![("retry-after", "3600".into())], ..Reply::status(503) };
        let receiver = Receiver::start(listener, vec![go_away], Reply::status(200));
        let started = Instant::now();
        let delivery = Delivery::start(options(vec![endpoint(receiver.url("write"))])).unwrap();
        delivery.enqueue(batch(0, &["a"]));
        wait_for("delivery within the 200 ms cap, not an hour", || {
            only(&delivery).samples_sent == 1
        })
        .await;
        assert!(started.elapsed() < Duration::from_secs(10));
        delivery.shutdown(Duration::from_secs(1)).await;
    }

    #[tokio::test]
    async fn remote_write_drops_and_counts_a_refused_request_without_retrying_it() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let refusal = Reply { body: "out of order sample\n".into(), ..Reply::status(400) };
        let receiver = Receiver::start(listener, vec![refusal], Reply::status(200));
        let delivery = Delivery::start(options(vec![endpoint(receiver.url("write"))])).unwrap();
        delivery.enqueue(batch(0, &["a", "b", "c"]));
        wait_for("the refusal", || only(&delivery).samples_rejected == 3).await;
        // Several backoff periods: a retry would have come.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(receiver.received().len(), 1, "not retried");
        // The next batch is not held up.
        delivery.enqueue(batch(1, &["a"]));
        wait_for("the next batch", || only(&delivery).samples_sent == 1).await;
        let stats = only(&delivery);
        assert_eq!((stats.samples_retried, stats.samples_rejected, stats.queue_samples), (0, 3, 0));
        assert_eq!(receiver.received().len(), 2);
        delivery.shutdown(Duration::from_secs(1)).await;
    }

    /// A port with nothing listening: connections are refused.
    async fn closed_port() -> SocketAddr {
        TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap()
    }

    #[tokio::test]
    async fn remote_write_keeps_everything_while_the_receiver_is_down_and_sends_it_in_time_order() {
        let addr = closed_port().await;
        let mut options = options(vec![endpoint(format!("http://{addr}/write").parse().unwrap())]);
        options.max_samples_per_request = 5;
        let delivery = Delivery::start(options).unwrap();
        for step in 0..6 {
            delivery.enqueue(batch(step, &["a", "b", "c"]));
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        wait_for("failed attempts", || only(&delivery).samples_retried >= 10).await;
        let stats = only(&delivery);
        assert_eq!((stats.samples_sent, stats.queue_samples), (0, 18));
        assert_eq!(stats.oldest_queued_ms, Some(T0));
        // The receiver comes up on the same port.
        let receiver =
            Receiver::start(TcpListener::bind(addr).await.unwrap(), vec![], Reply::status(200));
        for step in 6..8 {
            delivery.enqueue(batch(step, &["a", "b", "c"]));
        }
        wait_for("everything", || only(&delivery).samples_sent == 24).await;
        let delivered = receiver.delivered();
        for name in ["a", "b", "c"] {
            assert_eq!(delivered[name], steps(0..8), "series {name}: all, in time order");
        }
        assert!(receiver.received().iter().all(|r| r.request.samples() <= 5));
        let stats = only(&delivery);
        assert_eq!(
            (stats.samples_overflowed, stats.queue_samples, stats.oldest_queued_ms),
            (0, 0, None)
        );
        delivery.shutdown(Duration::from_secs(1)).await;
    }

    #[tokio::test]
    async fn remote_write_drops_the_oldest_samples_when_the_queue_is_full() {
        let addr = closed_port().await;
        let mut options = options(vec![endpoint(format!("http://{addr}/write").parse().unwrap())]);
        options.max_samples = 10;
        options.max_samples_per_request = 4;
        let delivery = Delivery::start(options).unwrap();
        for step in 0..5 {
            delivery.enqueue(batch(step, &["a", "b", "c", "d"]));
        }
        let stats = only(&delivery);
        assert_eq!((stats.samples_overflowed, stats.queue_samples), (10, 10));
        let receiver =
            Receiver::start(TcpListener::bind(addr).await.unwrap(), vec![], Reply::status(200));
        wait_for("the rest", || only(&delivery).samples_sent == 10).await;
        let delivered = receiver.delivered();
        for (name, times) in &delivered {
            assert!(times.windows(2).all(|w| w[0] < w[1]), "{name}: {times:?}");
            assert_eq!(times.last(), Some(&(T0 + 4 * 15_000)), "{name}: the newest kept");
        }
        assert_eq!(delivered.values().flatten().count(), 10);
        delivery.shutdown(Duration::from_secs(1)).await;
    }

    #[tokio::test]
    async fn remote_write_persists_the_queue_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver::start(listener, vec![], Reply::status(503));
        let mut options = options(vec![endpoint(receiver.url("write"))]);
        options.persist =
            Some(Persist { dir: dir.path().join("remote-write"), max_bytes: 1 << 20 });
        let queue_dir = dir.path().join("remote-write");

        let delivery = Delivery::start(options.clone()).unwrap();
        for step in 0..4 {
            delivery.enqueue(batch(step, &["a", "b"]));
        }
        wait_for("a failed attempt", || only(&delivery).samples_retried > 0).await;
        delivery.shutdown(Duration::from_millis(500)).await;
        assert_eq!(files(&queue_dir).len(), 1, "one file per endpoint");

        // Restarted, the receiver still down: the queue is back.
        let delivery = Delivery::start(options.clone()).unwrap();
        let stats = only(&delivery);
        assert_eq!((stats.queue_samples, stats.oldest_queued_ms), (8, Some(T0)));
        delivery.enqueue(batch(4, &["a", "b"]));
        delivery.shutdown(Duration::from_millis(500)).await;

        // Restarted with the receiver up: all of it arrives, in order, and the file goes.
        receiver.answer(Reply::status(200));
        let delivery = Delivery::start(options).unwrap();
        wait_for("the saved samples", || only(&delivery).samples_sent == 10).await;
        let delivered = receiver.delivered();
        assert_eq!(delivered["a"], steps(0..5));
        assert_eq!(delivered["b"], steps(0..5));
        delivery.shutdown(Duration::from_millis(500)).await;
        assert_eq!(files(&queue_dir), Vec::<std::path::PathBuf>::new());
    }

    #[tokio::test]
    async fn remote_write_gives_each_endpoint_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver::start(listener, vec![], Reply::status(503));
        let tenant = |name: &str| Endpoint {
            url: receiver.url("write"),
            auth: Auth::Bearer(Secret::new(name)),
        };
        let mut options = options(vec![tenant("a"), tenant("b"), endpoint(receiver.url("other"))]);
        options.persist = Some(Persist { dir: dir.path().to_owned(), max_bytes: 1 << 20 });
        let delivery = Delivery::start(options.clone()).unwrap();
        delivery.enqueue(batch(0, &["a"]));
        delivery.enqueue(batch(1, &["a"]));
        delivery.shutdown(Duration::from_millis(300)).await;
        assert_eq!(files(dir.path()).len(), 3);
        let delivery = Delivery::start(options).unwrap();
        assert!(delivery.stats().iter().all(|s| s.queue_samples == 2), "{:?}", delivery.stats());
        delivery.shutdown(Duration::from_millis(300)).await;
    }

    #[tokio::test]
    async fn remote_write_caps_the_file_and_ignores_a_corrupt_one() {
        let dir = tempfile::tempdir().unwrap();
        let addr = closed_port().await;
        let mut options = options(vec![endpoint(format!("http://{addr}/write").parse().unwrap())]);
        options.persist = Some(Persist { dir: dir.path().to_owned(), max_bytes: 4096 });

        let delivery = Delivery::start(options.clone()).unwrap();
        let names: Vec<String> = (0..50).map(|i| format!("metric_{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        for step in 0..40 {
            // Values that do not repeat, so that snappy cannot squeeze them into the cap.
            let mut batch = batch(step, &names);
            for (i, series) in batch.series.iter_mut().enumerate() {
                #[allow(clippy::cast_precision_loss, reason = "small test numbers")]
                let value = (step * 7919 + i as i64) as f64 / 3.0;
                series.samples[0].1 = value;
            }
            delivery.enqueue(batch);
        }
        assert_eq!(only(&delivery).queue_samples, 2000);
        delivery.shutdown(Duration::from_millis(500)).await;
        let file = files(dir.path()).pop().unwrap();
        assert!(std::fs::metadata(&file).unwrap().len() <= 4096);

        let delivery = Delivery::start(options.clone()).unwrap();
        let stats = only(&delivery);
        assert!(stats.queue_samples > 0 && stats.queue_samples < 2000, "{stats:?}");
        // The newest kept, the oldest left out.
        assert!(stats.oldest_queued_ms > Some(T0), "{stats:?}");
        delivery.shutdown(Duration::from_millis(500)).await;

        std::fs::write(&file, b"vimeo-monitor-rw\xff\xff\xff\xff\xff garbage").unwrap();
        let delivery = Delivery::start(options.clone()).unwrap();
        assert_eq!(only(&delivery).queue_samples, 0, "a corrupt file is ignored");
        delivery.shutdown(Duration::from_millis(500)).await;
        assert!(!file.exists(), "and replaced (here: removed, nothing was queued)");

        std::fs::write(&file, b"another program's file").unwrap();
        let delivery = Delivery::start(options).unwrap();
        assert_eq!(only(&delivery).queue_samples, 0, "a foreign file is ignored");
        delivery.shutdown(Duration::from_millis(500)).await;
    }

    #[tokio::test]
    async fn remote_write_writes_the_file_only_while_samples_wait() {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver::start(listener, vec![], Reply::status(200));
        let mut options = options(vec![endpoint(receiver.url("write"))]);
        options.persist = Some(Persist { dir: dir.path().to_owned(), max_bytes: 1 << 20 });
        options.persist_interval = Duration::from_millis(500);
        let delivery = Delivery::start(options).unwrap();

        // Receiver up: three intervals of collections, and never a file.
        for step in 0..50 {
            delivery.enqueue(batch(step, &["a", "b"]));
            tokio::time::sleep(Duration::from_millis(30)).await;
            assert!(files(dir.path()).is_empty(), "a write while the queue drains");
        }
        // Receiver failing: the file appears after an interval or two.
        receiver.answer(Reply::status(503));
        delivery.enqueue(batch(50, &["a", "b"]));
        wait_for("the file", || !files(dir.path()).is_empty()).await;
        // Back: the queue drains and the stale file goes.
        receiver.answer(Reply::status(200));
        wait_for("the file to go", || files(dir.path()).is_empty()).await;
        assert_eq!(only(&delivery).samples_sent, 102);
        delivery.shutdown(Duration::from_millis(500)).await;
    }

    #[tokio::test]
    async fn remote_write_shutdown_sends_what_is_queued_first() {
        let dir = tempfile::tempdir().unwrap();
        let receiver = Receiver::ok().await;
        let mut options = options(vec![endpoint(receiver.url("write"))]);
        options.persist = Some(Persist { dir: dir.path().to_owned(), max_bytes: 1 << 20 });
        let delivery = Delivery::start(options).unwrap();
        let names: Vec<String> = (0..500).map(|i| format!("metric_{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        for step in 0..10 {
            delivery.enqueue(batch(step, &names));
        }
        let stats = delivery.clone();
        delivery.shutdown(Duration::from_secs(2)).await;
        assert_eq!(only(&stats).samples_sent, 5000);
        assert_eq!(receiver.delivered().values().flatten().count(), 5000);
        assert!(receiver.received().len() >= 3, "at most 2,000 samples per request");
        assert!(files(dir.path()).is_empty(), "nothing left to save");
    }

    #[tokio::test]
    async fn remote_write_shutdown_keeps_its_deadline_with_a_receiver_that_never_answers() {
        let dir = tempfile::tempdir().unwrap();
        // Accepts connections and reads nothing, answers nothing.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (accepted, mut connected) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
                let _ = accepted.send(());
            }
        });
        let mut options = options(vec![endpoint(format!("http://{addr}/write").parse().unwrap())]);
        options.timeout = Duration::from_secs(60);
        options.persist = Some(Persist { dir: dir.path().to_owned(), max_bytes: 1 << 20 });
        let delivery = Delivery::start(options.clone()).unwrap();
        for step in 0..3 {
            delivery.enqueue(batch(step, &["a", "b"]));
        }
        connected.recv().await.unwrap();

        let started = Instant::now();
        delivery.shutdown(Duration::from_secs(1)).await;
        let took = started.elapsed();
        assert!(took < Duration::from_millis(1300), "shutdown took {took:?}");
        assert_eq!(files(dir.path()).len(), 1);

        let delivery = Delivery::start(options).unwrap();
        assert_eq!(only(&delivery).queue_samples, 6, "the request in flight was saved too");
        drop(delivery);
    }

    #[tokio::test(start_paused = true)]
    async fn remote_write_backs_off_exponentially_up_to_the_cap_while_refused() {
        let addr = closed_port().await;
        let mut options = options(vec![endpoint(format!("http://{addr}/write").parse().unwrap())]);
        options.backoff = (Duration::from_secs(1), Duration::from_secs(8));
        let delivery = Delivery::start(options).unwrap();
        delivery.enqueue(batch(0, &["a"]));
        // Delays of 0.5-1, 1-2, 2-4, 4-8, then 4-8 s each: in 120 s, between 1 + 4 + 108/8 and
        // 1 + 4 + 112.5/4 attempts (the first immediately).
        tokio::time::sleep(Duration::from_secs(120)).await;
        let attempts = only(&delivery).samples_retried;
        assert!((17..=34).contains(&attempts), "{attempts} attempts in 120 s");
        delivery.shutdown(Duration::from_millis(100)).await;
    }
}
