//! Clients that try to hold every connection slot, over real loopback TCP: a Prometheus scrape
//! must still be answered within a second, and shutdown must stay prompt.
//!
//! Each attack opens a few hundred sockets, each taking a file descriptor at both ends; the test
//! raises its soft open-file limit to the hard one (1,024 soft is common and too tight).

mod util;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use health_server::Exporter;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use util::{config, get, series};

/// The longest a scrape may take while under attack.
const SCRAPE_LIMIT: Duration = Duration::from_secs(1);

/// Raises the soft open-file limit to the hard one: about 1,200 descriptors are needed.
fn raise_open_file_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("setrlimit");
    }
    let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    assert!(soft >= 2048, "these tests need 2048 open files; the hard limit is {soft}");
}

async fn start() -> Exporter {
    raise_open_file_limit();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Exporter::start_on(listener, &config()).unwrap()
}

/// One keep-alive client asking `GET /healthz` every 4 s, reconnecting when closed.
async fn idle_keep_alive(addr: SocketAddr, established: Arc<AtomicUsize>) {
    let mut counted = false;
    loop {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        loop {
            let request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
            if stream.write_all(request).await.is_err() || !read_answer(&mut stream).await {
                break;
            }
            if !counted {
                counted = true;
                established.fetch_add(1, Ordering::Relaxed);
            }
            tokio::time::sleep(Duration::from_secs(4)).await;
        }
    }
}

/// Reads one `/healthz` answer; false when the connection closed first.
async fn read_answer(stream: &mut TcpStream) -> bool {
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    while !answer.ends_with(b"\r\n\r\nok\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    true
}

/// One client sending half a request header and waiting, reconnecting when closed.
async fn slow_header(addr: SocketAddr, established: Arc<AtomicUsize>) {
    let mut counted = false;
    loop {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        if stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.is_err() {
            continue;
        }
        if !counted {
            counted = true;
            established.fetch_add(1, Ordering::Relaxed);
        }
        let mut buf = [0u8; 512];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
}

/// Times a scrape on a fresh connection, giving up after 5 s (and then returning 5 s).
async fn timed_scrape(addr: SocketAddr) -> Duration {
    let started = Instant::now();
    if let Ok(answer) =
        tokio::time::timeout(Duration::from_secs(5), get(addr, "/metrics", None)).await
    {
        assert_eq!(answer.status, 200);
        assert!(answer.body.contains("vimeo_monitor_build_info"), "{}", answer.body);
    }
    started.elapsed()
}

/// Scrapes three times over 6 s while the attack goes on, then checks the self-metric `counter`
/// went up and that shutdown is still prompt.
async fn scrapes_survive(
    exporter: Exporter,
    attackers: JoinSet<()>,
    established: &AtomicUsize,
    counter: &str,
) {
    let addr = exporter.local_addr();
    let until = Instant::now() + Duration::from_secs(3);
    while established.load(Ordering::Relaxed) < 250 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut took = Vec::new();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        took.push(timed_scrape(addr).await);
    }
    eprintln!(
        "{} attackers established; scrapes took {took:?}",
        established.load(Ordering::Relaxed)
    );
    assert!(took.iter().all(|t| *t < SCRAPE_LIMIT), "scrapes under attack took {took:?}");

    // The self-metrics are republished after each collector run (every second here).
    let name = format!("vimeo_monitor_{counter}");
    let mut seen = String::new();
    for _ in 0..30 {
        let text = get(addr, "/metrics", None).await.body;
        seen = series(&text).get(&name).cloned().unwrap_or_default();
        if seen.parse::<f64>().is_ok_and(|v| v > 0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen.parse::<f64>().is_ok_and(|v| v > 0.0), "{name} is {seen:?}");

    let started = Instant::now();
    exporter.shutdown().await;
    let shutdown = started.elapsed();
    assert!(shutdown < Duration::from_secs(2), "shutdown under attack took {shutdown:?}");
    drop(attackers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_keep_alive_connections_cannot_lock_out_a_scrape() {
    let exporter = start().await;
    let established = Arc::new(AtomicUsize::new(0));
    let mut attackers = JoinSet::new();
    for _ in 0..260 {
        attackers.spawn(idle_keep_alive(exporter.local_addr(), Arc::clone(&established)));
    }
    scrapes_survive(exporter, attackers, &established, "http_connections_recycled_total").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reconnecting_slow_header_clients_cannot_delay_a_scrape() {
    let exporter = start().await;
    let established = Arc::new(AtomicUsize::new(0));
    let mut attackers = JoinSet::new();
    for _ in 0..300 {
        attackers.spawn(slow_header(exporter.local_addr(), Arc::clone(&established)));
    }
    scrapes_survive(exporter, attackers, &established, "http_connections_recycled_total").await;
}
