//! The kiosk as a venue runs it, health monitoring on: the fake Vimeo API (the x86 tests' own,
//! speaking Vimeo's wire format), the guest's live stream, and the real mpv headless
//! (`--vo=null --ao=null`). It must show the holding image while the event has not started, play
//! the stream once the API says live, replace an mpv that is killed, and show the error image
//! when the API refuses its token.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::child::{Started, free_port};
use crate::report::Report;
use crate::vimeo_api::{self, Reply, VimeoApi};
use crate::{Context, exposition, mpv, procfs, wait};

/// The longest wait for the screen to follow the API, emulated.
const SCREEN: Duration = Duration::from_secs(45);
/// The longest wait for mpv to open the stream and play, emulated.
const PLAY: Duration = Duration::from_secs(90);
/// The kiosk's own promise for SIGTERM.
const STOP: Duration = Duration::from_secs(5);

pub(crate) async fn run(context: &Context, report: &mut Report) -> anyhow::Result<()> {
    let dir = context.work.join("kiosk");
    let runtime = dir.join("run");
    let api = VimeoApi::start().await;
    let images = context.data.join("images");
    let holding = images.join("holding.png").display().to_string();
    let error = images.join("error.png").display().to_string();
    let port = free_port()?;
    let env = [
        ("VIMEO_API_URL", api.url()),
        ("VIMEO_LIVE_EVENT_ID", vimeo_api::EVENT_ID.to_owned()),
        ("VIMEO_TOKEN", vimeo_api::TOKEN.to_owned()),
        ("HOLDING_IMAGE", holding.clone()),
        ("ERROR_IMAGE", error.clone()),
        ("PLAYER_ARGS", "--no-config --vo=null --ao=null".to_owned()),
        ("CHECK_INTERVAL", "2".to_owned()),
        ("API_TIMEOUT", "2".to_owned()),
        ("MAX_RETRIES", "0".to_owned()),
        ("ERROR_THRESHOLD", "2".to_owned()),
        ("PLAYER_IPC_TIMEOUT", "3".to_owned()),
        ("PLAYER_STALL_TIMEOUT", "15".to_owned()),
        ("LOG_LEVEL", "debug".to_owned()),
        ("RUNTIME_DIR", runtime.display().to_string()),
        ("HEALTH_MONITORING_ENABLED", "true".to_owned()),
        ("HEALTH_METRICS_HOST", "127.0.0.1".to_owned()),
        ("HEALTH_METRICS_PORT", port.to_string()),
        ("HEALTH_HARDWARE_ENABLED", "true".to_owned()),
        ("HEALTH_NETWORK_ENABLED", "false".to_owned()),
        ("HEALTH_STREAM_ENABLED", "true".to_owned()),
        ("HEALTH_STREAM_INTERVAL", "5".to_owned()),
        ("HEALTH_STREAM_FFPROBE_TIMEOUT", "4".to_owned()),
        ("HEALTH_SCRIPT_INTERVAL", "1".to_owned()),
    ];
    let mut kiosk = Started::spawn("vimeo-monitor", "vimeo-monitor", &[], &env, &dir)?;
    let scene = Scene {
        kiosk: kiosk.pid(),
        socket: runtime.join("mpv.sock"),
        holding,
        error,
        stream: format!("{}?sig=CANARY-SIG&exp=1795932720", context.stream.url()),
        metrics: format!("http://127.0.0.1:{port}/metrics"),
        http: reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?,
    };
    let outcome = phases(&mut kiosk, &api, &scene, report).await;
    if outcome.is_err() {
        kiosk.print_log();
        println!("Vimeo API requests seen: {}", api.seen().len());
    }
    outcome
}

/// What the phases look at.
struct Scene {
    /// The kiosk's pid: a wait ends if it dies.
    kiosk: u32,
    socket: PathBuf,
    holding: String,
    error: String,
    stream: String,
    metrics: String,
    http: reqwest::Client,
}

impl Scene {
    async fn metrics(&self) -> Option<String> {
        self.http.get(&self.metrics).send().await.ok()?.text().await.ok()
    }

    /// Waits until mpv has `target` loaded.
    async fn shows(&self, target: &str, within: Duration) -> anyhow::Result<Duration> {
        let what = format!("mpv shows {}", target.split('?').next().unwrap_or_default());
        let socket = &self.socket;
        Ok(wait::until(self.kiosk, &what, within, async || {
            (mpv::path(socket).await? == target).then_some(())
        })
        .await?
        .1)
    }

    /// Waits until mpv plays the stream: loaded, and its position rising on four looks in a row.
    async fn plays(&self, within: Duration) -> anyhow::Result<Duration> {
        let socket = &self.socket;
        let mut last: Option<f64> = None;
        let mut rises = 0;
        let (_, took) = wait::until(
            self.kiosk,
            "mpv plays the live stream (time-pos rising)",
            within,
            async || {
                let loaded = mpv::path(socket).await.as_deref() == Some(self.stream.as_str());
                let position = mpv::time_pos(socket).await;
                match (last, position) {
                    (Some(before), Some(now)) if loaded && now > before => rises += 1,
                    _ => rises = 0,
                }
                last = position;
                (rises >= 4).then_some(())
            },
        )
        .await?;
        Ok(took)
    }
}

async fn phases(
    kiosk: &mut Started,
    api: &VimeoApi,
    scene: &Scene,
    report: &mut Report,
) -> anyhow::Result<()> {
    // Not started: the holding image.
    let took = scene.shows(&scene.holding, SCREEN).await;
    report.check(
        "kiosk.holding_image",
        took.map(|t| format!("shown {:.1} s after start", t.as_secs_f64())),
    )?;

    // Live: the stream plays.
    api.set(Reply::Live { url: scene.stream.clone() });
    let took = scene.plays(PLAY).await;
    let took = match took {
        Ok(took) => took,
        Err(e) => return report.failed("kiosk.live", e),
    };
    report.ok("kiosk.live", format!("playing {:.1} s after the API said live", took.as_secs_f64()));
    report.figure("kiosk.live_to_playing_seconds", took.as_secs_f64(), "seconds");
    tokio::time::sleep(Duration::from_secs(10)).await;
    let mpv = living_mpv(kiosk.pid()).context("no mpv below the kiosk")?;
    let status = procfs::status(mpv.pid)?;
    report.figure("mpv.rss_peak_bytes", status.rss_peak as f64, "bytes");
    report.figure("mpv.threads", status.threads as f64, "count");
    if let Some(text) = scene.metrics().await {
        for (name, figure, unit) in [
            ("vimeo_monitor_player_fps", "mpv.fps", "count"),
            ("vimeo_monitor_player_frames_dropped_total", "mpv.frames_dropped", "count"),
            ("vimeo_monitor_player_hwdec_active", "mpv.hwdec_active", "count"),
        ] {
            if let Some(value) = exposition::sum(&text, name, &[]) {
                report.figure(figure, value, unit);
            }
        }
    }

    // A killed mpv is replaced and plays again.
    kill(Pid::from_raw(mpv.pid as i32), Signal::SIGKILL).context("killing mpv")?;
    let replaced = async {
        let (new, took) =
            wait::until(kiosk.pid(), "a new mpv below the kiosk", SCREEN, async || {
                living_mpv(kiosk.pid()).filter(|p| p.pid != mpv.pid)
            })
            .await?;
        let playing = scene.plays(PLAY).await?;
        ensure!(procfs::process(mpv.pid).is_none(), "the killed mpv {} was not reaped", mpv.pid);
        Ok((new.pid, took, playing))
    }
    .await;
    let (new, took, playing) = match replaced {
        Ok(found) => found,
        Err(e) => return report.failed("kiosk.mpv_replaced", e),
    };
    report.ok(
        "kiosk.mpv_replaced",
        format!("mpv {} killed, mpv {new} started {:.1} s later and playing after {:.1} s more; the dead one reaped", mpv.pid, took.as_secs_f64(), playing.as_secs_f64()),
    );
    report.figure("kiosk.mpv_replaced_seconds", took.as_secs_f64(), "seconds");
    let restarts = wait::until(kiosk.pid(), "player_restarts_total >= 1", SCREEN, async || {
        let text = scene.metrics().await?;
        exposition::sum(&text, "vimeo_monitor_player_restarts_total", &[]).filter(|n| *n >= 1.0)
    })
    .await;
    report.check(
        "kiosk.restart_counted",
        restarts.map(|(n, _)| format!("player_restarts_total {n}")),
    )?;

    // The API refuses the token (401, as for a revoked one): the error image, even while the
    // stream plays, as the x86 kiosk tests expect.
    api.set(Reply::Unauthorized);
    let took = scene.shows(&scene.error, SCREEN).await;
    report.check(
        "kiosk.error_image",
        took.map(|t| format!("shown {:.1} s after the API began answering 401", t.as_secs_f64())),
    )?;

    let status = procfs::status(kiosk.pid())?;
    report.figure("kiosk.rss_peak_bytes", status.rss_peak as f64, "bytes");
    report.figure("kiosk.rss_bytes", status.rss as f64, "bytes");
    report.figure("kiosk.threads", status.threads as f64, "count");

    // SIGTERM: the kiosk and its mpv are gone within 5 s.
    let below = procfs::descendants(kiosk.pid());
    let stopped = kiosk.terminate(STOP * 2).await.and_then(|(status, took)| {
        ensure!(status.success(), "exit status {status}");
        ensure!(took <= STOP, "took {took:?}, more than {STOP:?}");
        if let Some(left) = below.iter().find(|p| procfs::process(p.pid).is_some_and(|p| p.alive()))
        {
            bail!("{} {} left running", left.comm, left.pid);
        }
        Ok(took)
    });
    report.check(
        "kiosk.sigterm",
        stopped.map(|t| format!("exit 0 in {:.0} ms, no mpv left", t.as_secs_f64() * 1e3)),
    )
}

/// The kiosk's living mpv, if any.
fn living_mpv(kiosk: u32) -> Option<procfs::Proc> {
    procfs::descendants(kiosk).into_iter().find(|p| p.comm == "mpv" && p.alive())
}
