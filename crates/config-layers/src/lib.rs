//! The layered settings machinery both vimeo-monitor binaries share: the kiosk's settings and
//! the health exporter's are read the same way, from the same files.
//!
//! Layers, lowest first: built-in defaults < TOML file < `.env` < process environment
//! ([`Layers::read`] from [`Sources`]). A value keeps the [`Origin`] of the layer that gave
//! it, so every [`ConfigProblem`] names the key as the user wrote it there, the value given and
//! what is allowed; [`ConfigErrors`] holds them all, so one run lists everything to fix.
//!
//! - [`Table`]: what a binary's settings table tells the loading (which names are its own,
//!   its TOML check, its warnings for unknown names); [`Access`], [`access!`] and [`Minimum`]
//!   are pieces such a table is built from.
//! - [`parse`]: the kinds of value both binaries have (booleans, seconds, ports, paths, URLs,
//!   lists, numbers); [`suggest`]: the known name an unknown one misspells;
//!   [`unknown_top_level`]: tables of the shared TOML file that no binary reads.
//! - [`written`], [`toml_text`]: values in their layer's syntax for messages, secrets redacted;
//!   [`cut`]: long ones cut; [`wrong_kind`]: a TOML value of a kind its setting never takes.
//!
//! | Feature | What it adds | Default |
//! |---|---|---|
//! | `test-util` | [`testing`]: checks that a table's settings are in `.env.sample` and the docs | no |
//!
//! What it deliberately does not do: know any setting, fill any struct, or check rules between
//! settings. Each binary keeps its table, its struct, the parsers of its own kinds and its
//! rules, and walks its table itself; nor does it touch the process environment, which
//! [`Sources::from_process`] only reads.

mod kind;
mod layers;
mod origin;
pub mod parse;
mod problem;
mod sources;
mod suggest;
mod table;
#[cfg(feature = "test-util")]
pub mod testing;
mod text;
mod top_level;

pub use kind::{Kind, kind_words, wrong_kind};
pub use layers::{Found, Layers};
pub use origin::Origin;
pub use problem::{ConfigErrors, ConfigProblem, Findings, Subject};
pub use sources::Sources;
pub use suggest::suggest;
pub use table::{Access, Minimum, Table};
pub use text::{MAX_QUOTED, REDACTED, cut, toml_datetime, toml_text, written};
pub use top_level::unknown_top_level;
