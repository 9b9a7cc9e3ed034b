//! The `Logger` trait the wallet supplies, and the `log_*!` macros.

use core::fmt;

/// How much a log line matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Every byte and step; very noisy.
    Gossip,
    /// Internal detail useful when tracing a problem.
    Trace,
    /// Debugging information.
    Debug,
    /// Normal operation worth recording.
    Info,
    /// Something unexpected that lnkit handled.
    Warn,
    /// Something failed.
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Gossip => "GOSSIP",
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        })
    }
}

/// One log line, with where it came from.
#[derive(Clone, Debug)]
pub struct Record<'a> {
    /// Its level.
    pub level: Level,
    /// The message.
    pub args: fmt::Arguments<'a>,
    /// The module that logged it.
    pub module_path: &'static str,
    /// The source line.
    pub line: u32,
}

/// Where lnkit's log lines go. Implement it over your logging framework.
pub trait Logger: Send + Sync {
    /// Records one line.
    fn log(&self, record: Record<'_>);
}

/// A logger that drops everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullLogger;

impl Logger for NullLogger {
    fn log(&self, _record: Record<'_>) {}
}

/// Logs at the given level through a `&dyn Logger` (or anything that derefs
/// to one).
#[macro_export]
macro_rules! log_at {
    ($logger:expr, $level:expr, $($arg:tt)+) => {
        $crate::logger::Logger::log(&*$logger, $crate::logger::Record {
            level: $level,
            args: format_args!($($arg)+),
            module_path: module_path!(),
            line: line!(),
        })
    };
}
/// Logs at [`Level::Error`](crate::logger::Level::Error).
#[macro_export]
macro_rules! log_error { ($logger:expr, $($arg:tt)+) => { $crate::log_at!($logger, $crate::logger::Level::Error, $($arg)+) }; }
/// Logs at [`Level::Warn`](crate::logger::Level::Warn).
#[macro_export]
macro_rules! log_warn { ($logger:expr, $($arg:tt)+) => { $crate::log_at!($logger, $crate::logger::Level::Warn, $($arg)+) }; }
/// Logs at [`Level::Info`](crate::logger::Level::Info).
#[macro_export]
macro_rules! log_info { ($logger:expr, $($arg:tt)+) => { $crate::log_at!($logger, $crate::logger::Level::Info, $($arg)+) }; }
/// Logs at [`Level::Debug`](crate::logger::Level::Debug).
#[macro_export]
macro_rules! log_debug { ($logger:expr, $($arg:tt)+) => { $crate::log_at!($logger, $crate::logger::Level::Debug, $($arg)+) }; }
/// Logs at [`Level::Trace`](crate::logger::Level::Trace).
#[macro_export]
macro_rules! log_trace { ($logger:expr, $($arg:tt)+) => { $crate::log_at!($logger, $crate::logger::Level::Trace, $($arg)+) }; }
