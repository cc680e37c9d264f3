//! Asking the kiosk's mpv what it shows, over its JSON IPC socket (`RUNTIME_DIR/mpv.sock`), on a
//! connection of our own (mpv serves several clients), as the x86 kiosk tests do.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::UnixStream;

/// How long one question may take: emulated mpv is slow, but not this slow.
const IPC_WAIT: Duration = Duration::from_secs(3);

/// One property; `None` when no mpv answers or it has no such value now.
pub(crate) async fn property(socket: &Path, name: &str) -> Option<Value> {
    let exchange = async {
        let stream = UnixStream::connect(socket).await.ok()?;
        let (read, mut write) = stream.into_split();
        let request = json!({ "command": ["get_property", name], "request_id": 7 });
        write.write_all(format!("{request}\n").as_bytes()).await.ok()?;
        let mut lines = BufReader::new(read).lines();
        while let Some(line) = lines.next_line().await.ok()? {
            let Ok(message) = serde_json::from_str::<Value>(&line) else { continue };
            if message.get("request_id") == Some(&json!(7)) {
                return (message["error"] == "success").then(|| message["data"].clone());
            }
        }
        None
    };
    tokio::time::timeout(IPC_WAIT, exchange).await.ok().flatten()
}

/// What mpv has loaded: an image's path or the stream's URL.
pub(crate) async fn path(socket: &Path) -> Option<String> {
    property(socket, "path").await?.as_str().map(str::to_owned)
}

/// The playback position.
pub(crate) async fn time_pos(socket: &Path) -> Option<f64> {
    property(socket, "time-pos").await?.as_f64()
}
