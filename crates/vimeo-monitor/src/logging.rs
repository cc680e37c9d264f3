//! Logging: `LOG_LEVEL` (levels or tracing directives), `LOG_FORMAT` text or json, to stderr
//! (journald takes it from there) and, with `LOG_FILE`, also to a file rotated daily that keeps
//! `LOG_ROTATION_DAYS` files. Targets name the component: `monitor`, `player`, `health.*`.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer, fmt};

use crate::config::{LogFormat, LogSettings};

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// `LOG_FILE`'s directory cannot hold the rotated files.
    #[error("LOG_FILE={file}: cannot write log files there: {source}")]
    File {
        /// The configured file.
        file: String,
        /// What failed.
        source: tracing_appender::rolling::InitError,
    },
    /// A subscriber was installed already.
    #[error("logging was set up twice")]
    Twice,
}

/// Keeps the file writer flushing; drop it last.
#[derive(Debug)]
pub struct LogGuard(#[allow(dead_code)] Option<WorkerGuard>);

/// Installs the global subscriber for `settings`.
pub fn init(settings: &LogSettings) -> Result<LogGuard, LoggingError> {
    let filter = || {
        filter(&settings.level).unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
    };
    let stderr = layer(settings.format, std::io::stderr).with_filter(filter());
    let (file, guard) = match &settings.file {
        Some(path) => {
            let appender = rolling(path, settings.rotation_days).map_err(|source| {
                LoggingError::File { file: path.display().to_string(), source }
            })?;
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let layer = layer(settings.format, writer).with_filter(filter());
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init()
        .map_err(|_| LoggingError::Twice)?;
    Ok(LogGuard(guard))
}

/// `LOG_LEVEL` as a filter: a level (`info`) or `target=level` directives
/// (`info,player=debug`), the forms `.env.sample` documents. `Targets` rather than `EnvFilter`:
/// the same directives without span and field matching, which no one was told about, and
/// without the regex engine `EnvFilter` links in (about 0.3 MB of each binary on aarch64).
/// Spaces around directives are allowed; a target is a module path or a dotted name. `None`
/// when `level` is not such a filter.
pub fn filter(level: &str) -> Option<Targets> {
    let directives: Vec<&str> = level.split(',').map(str::trim).collect();
    let target_is_a_name = |directive: &&str| {
        directive.split_once('=').is_none_or(|(target, _)| {
            !target.is_empty()
                && target.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '.' | '-'))
        })
    };
    if !directives.iter().all(target_is_a_name) {
        return None;
    }
    directives.join(",").parse().ok()
}

/// A formatting layer writing to `writer`, as text or JSON lines.
fn layer<S, W>(format: LogFormat, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    match format {
        LogFormat::Text => fmt::layer().with_writer(writer).with_ansi(false).boxed(),
        LogFormat::Json => fmt::layer().json().with_writer(writer).boxed(),
    }
}

/// `/var/log/kiosk/kiosk.log` → `kiosk.log.2026-11-29` in `/var/log/kiosk`, `days` files kept.
fn rolling(
    path: &Path,
    days: u32,
) -> Result<RollingFileAppender, tracing_appender::rolling::InitError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("/"));
    let name = path.file_name().map_or_else(|| "vimeo-monitor.log".into(), |n| n.to_string_lossy());
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(name.as_ref())
        .max_log_files(usize::try_from(days).unwrap_or(usize::MAX))
        .build(dir)
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::filter;

    #[test]
    fn log_level_filters_by_target_as_the_env_sample_shows() {
        let debug_player = filter(" info , player=debug ").unwrap();
        for (target, level, shown) in [
            ("player", Level::DEBUG, true),
            ("player", Level::TRACE, false),
            ("monitor", Level::INFO, true),
            ("monitor", Level::DEBUG, false),
            ("health.network", Level::WARN, true),
        ] {
            assert_eq!(debug_player.would_enable(target, &level), shown, "{target} {level}");
        }
        let quiet = filter("error,reqwest=off").unwrap();
        assert!(!quiet.would_enable("reqwest", &Level::ERROR));
        assert!(quiet.would_enable("monitor", &Level::ERROR));
        assert!(!quiet.would_enable("monitor", &Level::WARN));
        assert!(!filter("OFF").unwrap().would_enable("monitor", &Level::ERROR));
        assert!(filter("DEBUG").unwrap().would_enable("health.stream", &Level::DEBUG));
        assert!(filter("health=trace").unwrap().would_enable("health.system", &Level::TRACE));
    }

    #[test]
    fn what_is_not_a_target_and_a_level_is_refused() {
        for bad in ["info,[=debug", "info,player=loud", "=debug", "a=b=c", "player{x}=info"] {
            assert!(filter(bad).is_none(), "{bad:?}");
        }
    }
}
