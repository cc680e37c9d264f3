//! The JSON IPC connection: one line per message each way.
//!
//! A writer task owns the write half, so a request that times out never leaves half a line
//! behind; a reader task hands each reply to the request waiting for its `request_id` and
//! broadcasts events. A reply nobody waits for any more (its request timed out) is dropped.
//! Nothing here logs or returns a message's contents: a reply may hold a signed URL (`path`).

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use health_core::redact;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinSet;

use super::{MpvEvent, PlayerError};

/// Requests queued for the writer; more wait (within their timeout) for room.
const WRITE_QUEUE: usize = 32;
/// Events a receiver may fall behind by before it lags.
const EVENT_BUFFER: usize = 256;

/// mpv's answer to one request.
#[derive(Debug)]
struct Reply {
    error: String,
    data: Value,
}

/// The requests waiting for a reply, by `request_id`; `None` once the connection has ended.
type Pending = Arc<Mutex<Option<HashMap<u64, oneshot::Sender<Reply>>>>>;

/// A connection to mpv's socket and the two tasks serving it (aborted on drop).
pub(super) struct Ipc {
    writer: mpsc::Sender<String>,
    pending: Pending,
    events: broadcast::WeakSender<MpvEvent>,
    next_id: AtomicU64,
    timeout: Duration,
    _tasks: JoinSet<()>,
}

impl Ipc {
    /// Serves `stream`, bounding each request by `timeout`. Must run inside a tokio runtime.
    pub(super) fn new(stream: UnixStream, timeout: Duration) -> Self {
        let (read, write) = stream.into_split();
        let (writer, queue) = mpsc::channel(WRITE_QUEUE);
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let weak_events = events.downgrade();
        let mut tasks = JoinSet::new();
        tasks.spawn(write_lines(write, queue));
        tasks.spawn(read_lines(read, Arc::clone(&pending), events));
        Self {
            writer,
            pending,
            events: weak_events,
            next_id: AtomicU64::new(1),
            timeout,
            _tasks: tasks,
        }
    }

    /// A receiver of events from now on; closed once the connection has ended.
    pub(super) fn events(&self) -> broadcast::Receiver<MpvEvent> {
        match self.events.upgrade() {
            Some(sender) => sender.subscribe(),
            None => broadcast::channel(1).1,
        }
    }

    /// Sends `args` as one command and waits, at most `timeout`, for its reply's `data`.
    pub(super) async fn request(&self, args: &[Value]) -> Result<Value, PlayerError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply_to, reply) = oneshot::channel();
        match lock(&self.pending).as_mut() {
            Some(waiting) => waiting.insert(id, reply_to),
            None => return Err(closed()),
        };
        // Whatever happens below (reply, error, timeout, the caller dropping this future), the
        // request stops waiting, so a late reply finds nobody and is dropped.
        let _forget = Forget { pending: &self.pending, id };
        let line = format!("{}\n", json!({ "command": args, "request_id": id }));
        let exchange = async {
            self.writer.send(line).await.map_err(|_| closed())?;
            reply.await.map_err(|_| closed())
        };
        let reply = match tokio::time::timeout(self.timeout, exchange).await {
            Ok(reply) => reply?,
            Err(_) => return Err(PlayerError::Timeout { command: describe(args) }),
        };
        if reply.error == "success" {
            Ok(reply.data)
        } else {
            Err(PlayerError::Mpv { command: describe(args), error: reply.error })
        }
    }
}

/// Removes a request from the waiting ones when dropped.
struct Forget<'a> {
    pending: &'a Pending,
    id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if let Some(waiting) = lock(self.pending).as_mut() {
            waiting.remove(&self.id);
        }
    }
}

fn lock(pending: &Pending) -> MutexGuard<'_, Option<HashMap<u64, oneshot::Sender<Reply>>>> {
    pending.lock().unwrap_or_else(PoisonError::into_inner)
}

fn closed() -> PlayerError {
    PlayerError::Ipc(io::Error::new(
        io::ErrorKind::BrokenPipe,
        "mpv closed its IPC connection (has it exited?)",
    ))
}

/// A command as errors name it: its name, plus the property name for property commands or the
/// redacted target for `loadfile`/`loadlist`. Other arguments are left out: they may be URLs.
pub(super) fn describe(args: &[Value]) -> String {
    let name = args.first().and_then(Value::as_str).unwrap_or("(unnamed command)");
    let second = args.get(1).and_then(Value::as_str);
    match (name, second) {
        ("loadfile" | "loadlist", Some(target)) => format!("{name} {}", redact::url(target)),
        (
            "get_property" | "get_property_string" | "set_property" | "set_property_string",
            Some(property),
        ) => format!("{name} {property}"),
        _ => name.to_owned(),
    }
}

/// Writes queued lines whole, until the queue closes or a write fails.
async fn write_lines(mut write: OwnedWriteHalf, mut queue: mpsc::Receiver<String>) {
    while let Some(line) = queue.recv().await {
        if let Err(error) = write.write_all(line.as_bytes()).await {
            tracing::debug!(target: "player", %error, "mpv IPC: write failed");
            break;
        }
    }
}

/// Reads lines until the connection ends, then fails every waiting request.
async fn read_lines(read: OwnedReadHalf, pending: Pending, events: broadcast::Sender<MpvEvent>) {
    let mut read = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        match read.read_until(b'\n', &mut line).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(target: "player", %error, "mpv IPC: read failed");
                break;
            }
        }
        // Lossy: a file name that is not UTF-8 must neither end the connection nor lose a reply.
        let Ok(message) = serde_json::from_str::<Value>(&String::from_utf8_lossy(&line)) else {
            tracing::debug!(target: "player", "mpv IPC: ignoring a line that is not JSON");
            continue;
        };
        if let Some(event) = parse_event(&message) {
            // No receivers is fine: nobody is listening.
            let _ = events.send(event);
        } else if let Some(id) = message.get("request_id").and_then(Value::as_u64) {
            let waiting = lock(&pending).as_mut().and_then(|waiting| waiting.remove(&id));
            match waiting {
                Some(reply_to) => {
                    let _ = reply_to.send(parse_reply(message));
                }
                None => {
                    tracing::debug!(
                        target: "player",
                        id,
                        "mpv IPC: dropping a reply that came too late",
                    );
                }
            }
        } else {
            tracing::debug!(
                target: "player",
                "mpv IPC: ignoring a message with neither event nor request_id",
            );
        }
    }
    // Dropping the senders fails every waiting request; later ones fail at once.
    lock(&pending).take();
}

fn parse_reply(mut message: Value) -> Reply {
    let error = message.get("error").and_then(Value::as_str).unwrap_or("no error field").to_owned();
    Reply { error, data: message.get_mut("data").map(Value::take).unwrap_or(Value::Null) }
}

fn parse_event(message: &Value) -> Option<MpvEvent> {
    let name = message.get("event")?.as_str()?;
    Some(match name {
        "file-loaded" => MpvEvent::FileLoaded,
        "playback-restart" => MpvEvent::PlaybackRestart,
        "end-file" => MpvEvent::EndFile {
            reason: message.get("reason").and_then(Value::as_str).unwrap_or("unknown").to_owned(),
        },
        "idle" => MpvEvent::Idle,
        "shutdown" => MpvEvent::Shutdown,
        "property-change" => MpvEvent::PropertyChange {
            name: message.get("name")?.as_str()?.to_owned(),
            // Absent while the property is unavailable (nothing loaded, no audio track).
            data: message.get("data").cloned().unwrap_or(Value::Null),
        },
        other => MpvEvent::Other(other.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::io::Lines;

    use super::*;

    /// An `Ipc` talking to a fake mpv: the other end of a socket pair.
    fn pair(timeout: Duration) -> (Ipc, Lines<BufReader<OwnedReadHalf>>, OwnedWriteHalf) {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let (read, write) = theirs.into_split();
        (Ipc::new(ours, timeout), BufReader::new(read).lines(), write)
    }

    async fn answer(write: &mut OwnedWriteHalf, reply: Value) {
        write.write_all(format!("{reply}\n").as_bytes()).await.unwrap();
    }

    async fn next_request(lines: &mut Lines<BufReader<OwnedReadHalf>>) -> Value {
        serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_late_reply_is_dropped_and_the_next_request_gets_its_own() {
        let (ipc, mut lines, mut write) = pair(Duration::from_millis(100));
        let started = Instant::now();
        let error = ipc.request(&[json!("get_property"), json!("pid")]).await.unwrap_err();
        assert!(
            matches!(&error, PlayerError::Timeout { command } if command == "get_property pid")
        );
        assert!(started.elapsed() < Duration::from_secs(1));

        let late = next_request(&mut lines).await;
        assert_eq!(late["command"], json!(["get_property", "pid"]));
        answer(
            &mut write,
            json!({"request_id": late["request_id"], "error": "success", "data": 7}),
        )
        .await;

        let args = [json!("get_property"), json!("mpv-version")];
        let version = ipc.request(&args);
        let fake_mpv = async {
            let request = next_request(&mut lines).await;
            assert_ne!(request["request_id"], late["request_id"]);
            let reply =
                json!({"request_id": request["request_id"], "error": "success", "data": "mpv 9"});
            answer(&mut write, reply).await;
        };
        let (version, ()) = tokio::join!(version, fake_mpv);
        assert_eq!(version.unwrap(), json!("mpv 9"));
    }

    /// A hung mpv is decided by the clock alone: a request it reads and never answers fails at
    /// the IPC timeout, not before and not much after, on a paused clock (no real waiting).
    #[tokio::test(start_paused = true)]
    async fn a_request_never_answered_fails_at_the_ipc_timeout() {
        let timeout = Duration::from_secs(5);
        let (ipc, mut lines, _write) = pair(timeout);
        let args = [json!("get_property"), json!("pid")];
        let started = tokio::time::Instant::now();
        let request = ipc.request(&args);
        let (error, seen) = tokio::join!(request, next_request(&mut lines));
        let took = started.elapsed();
        assert_eq!(seen["command"], json!(["get_property", "pid"]), "mpv got the request");
        assert!(matches!(error, Err(PlayerError::Timeout { .. })), "{error:?}");
        assert!(took >= timeout && took <= timeout + Duration::from_millis(5), "{took:?}");
    }

    #[tokio::test]
    async fn replies_are_matched_by_id_and_events_are_broadcast() {
        let (ipc, mut lines, mut write) = pair(Duration::from_secs(5));
        let mut events = ipc.events();
        let (first_args, second_args) = (
            [json!("get_property"), json!("a")],
            [json!("loadfile"), json!("https://x.example/l.m3u8?sig=S")],
        );
        let first = ipc.request(&first_args);
        let second = ipc.request(&second_args);
        let fake_mpv = async {
            let a = next_request(&mut lines).await;
            let b = next_request(&mut lines).await;
            answer(&mut write, json!({"event": "end-file", "reason": "stop"})).await;
            answer(
                &mut write,
                json!({"request_id": b["request_id"], "error": "invalid parameter"}),
            )
            .await;
            answer(&mut write, json!({"event": "start-file", "playlist_entry_id": 1})).await;
            let change = json!({"event": "property-change", "id": 1, "name": "fps", "data": 25.0});
            answer(&mut write, change).await;
            let gone = json!({"event": "property-change", "id": 2, "name": "hwdec-current"});
            answer(&mut write, gone).await;
            answer(
                &mut write,
                json!({"request_id": a["request_id"], "error": "success", "data": 1}),
            )
            .await;
        };
        let (first, second, ()) = tokio::join!(first, second, fake_mpv);
        assert_eq!(first.unwrap(), json!(1));
        let second = second.unwrap_err();
        let text = format!("{second} {second:?}");
        assert!(text.contains("loadfile https://x.example/l.m3u8"), "{text}");
        assert!(!text.contains("sig=S"), "{text}");
        assert_eq!(events.recv().await.unwrap(), MpvEvent::EndFile { reason: "stop".to_owned() });
        assert_eq!(events.recv().await.unwrap(), MpvEvent::Other("start-file".to_owned()));
        assert_eq!(
            events.recv().await.unwrap(),
            MpvEvent::PropertyChange { name: "fps".to_owned(), data: json!(25.0) }
        );
        assert_eq!(
            events.recv().await.unwrap(),
            MpvEvent::PropertyChange { name: "hwdec-current".to_owned(), data: Value::Null }
        );
    }

    #[tokio::test]
    async fn a_closed_connection_fails_requests_and_closes_events() {
        let (ipc, lines, write) = pair(Duration::from_secs(5));
        let mut events = ipc.events();
        drop((lines, write));
        assert_eq!(events.recv().await, Err(broadcast::error::RecvError::Closed));
        let error = ipc.request(&[json!("get_property"), json!("pid")]).await.unwrap_err();
        assert!(matches!(&error, PlayerError::Ipc(_)), "{error:?}");
        assert_eq!(ipc.events().recv().await, Err(broadcast::error::RecvError::Closed));
    }

    #[test]
    fn describe_names_commands_without_their_secrets() {
        let table = [
            (
                vec![json!("loadfile"), json!("https://u:p@a.example/x?token=T"), json!("replace")],
                "loadfile https://a.example/x",
            ),
            (vec![json!("get_property"), json!("time-pos")], "get_property time-pos"),
            (
                vec![json!("set_property"), json!("stream-open-filename"), json!("https://a/?t=T")],
                "set_property stream-open-filename",
            ),
            (vec![json!("script-message"), json!("https://a/?t=T")], "script-message"),
            (vec![], "(unnamed command)"),
        ];
        for (args, expected) in table {
            assert_eq!(describe(&args), expected);
        }
    }
}
