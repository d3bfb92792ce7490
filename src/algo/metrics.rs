//! What the training loops share for reporting: the progress bar and the JSON-lines metrics
//! log.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::error::{Error, Result};

/// A bar over `total` environment steps on stderr, or a hidden one when `enabled` is false or
/// stderr is not a terminal (tests, CI logs, pipes).
pub(crate) fn progress_bar(enabled: bool, total: u64) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} steps {per_sec} eta {eta} {msg}")
    {
        bar.set_style(style);
    }
    bar
}

/// The metrics log: kept in memory and, when a path is given, written as JSON lines.
pub(crate) struct MetricsLog {
    file: Option<(String, std::io::BufWriter<std::fs::File>)>,
}

impl MetricsLog {
    pub(crate) fn open(path: Option<&str>) -> Result<Self> {
        let file = match path {
            None => None,
            Some(path) => {
                let file = std::fs::File::create(path).map_err(|e| io_error(path, e))?;
                Some((path.to_string(), std::io::BufWriter::new(file)))
            }
        };
        Ok(Self { file })
    }

    /// Appends `record` to `memory` and, when there is a file, writes it as one line.
    pub(crate) fn write<T: Serialize + Clone>(
        &mut self,
        record: &T,
        memory: &mut Vec<T>,
    ) -> Result<()> {
        if let Some((path, file)) = &mut self.file {
            let line = serde_json::to_string(record).map_err(|e| io_error(path, e))?;
            writeln!(file, "{line}").map_err(|e| io_error(path, e))?;
        }
        memory.push(record.clone());
        Ok(())
    }

    pub(crate) fn flush(&mut self) -> Result<()> {
        if let Some((path, file)) = &mut self.file {
            file.flush().map_err(|e| io_error(path, e))?;
        }
        Ok(())
    }
}

fn io_error(path: &str, e: impl std::fmt::Display) -> Error {
    Error::Io {
        action: "write",
        path: path.to_string(),
        message: e.to_string(),
    }
}
