//! File helpers shared by the learners' checkpoints: JSON headers beside burnpack records of
//! networks and optimiser states.

use std::path::Path;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

pub(crate) fn io(action: &'static str, path: &Path, message: impl std::fmt::Display) -> Error {
    Error::Io {
        action,
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Creates `dir` (and its parents) when missing.
pub(crate) fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| io("write", dir, e))
}

pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| io("write", path, e))?;
    std::fs::write(path, text).map_err(|e| io("write", path, e))
}

/// Reads a JSON header and checks its format version.
pub(crate) fn read_json<T: DeserializeOwned>(
    path: &Path,
    what: &'static str,
    version_of: impl Fn(&T) -> u32,
    expected_version: u32,
) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| io("read", path, e))?;
    let value: T = serde_json::from_str(&text).map_err(|e| Error::Decode {
        what,
        message: e.to_string(),
    })?;
    let version = version_of(&value);
    if version != expected_version {
        return Err(Error::Decode {
            what,
            message: format!("version {version} (this build reads {expected_version})"),
        });
    }
    Ok(value)
}

/// Reads a whole file. burn's file reader is lazy, and a record that still points into its
/// file breaks when the checkpoint is moved or deleted after loading.
fn read_bytes(path: &Path) -> Result<Bytes> {
    let bytes = std::fs::read(path).map_err(|e| io("read", path, e))?;
    Ok(Bytes::from_bytes_vec(bytes))
}

pub(crate) fn save_module<M: Module>(module: &M, path: &Path) -> Result<()> {
    module
        .clone()
        .into_record()
        .save(path)
        .map_err(|e| io("write", path, e))
}

/// Loads the record at `path` into `template` (same architecture, any weights).
pub(crate) fn load_module<M: Module>(path: &Path, template: M) -> Result<M> {
    let decode = |e: &dyn std::fmt::Display| Error::Decode {
        what: "network record",
        message: format!("{}: {e}", path.display()),
    };
    let record = ModuleRecord::from_bytes(read_bytes(path)?).map_err(|e| decode(&e))?;
    template.try_load_record(record).map_err(|e| decode(&e))
}

pub(crate) fn save_optimizer(optimizer: &ModuleOptimizer, path: &Path) -> Result<()> {
    optimizer.save(path).map_err(|e| io("write", path, e))
}

/// Loads the optimiser state at `path` into `fresh` (built from the saved config).
pub(crate) fn load_optimizer(path: &Path, fresh: ModuleOptimizer) -> Result<ModuleOptimizer> {
    fresh
        .from_bytes(read_bytes(path)?)
        .map_err(|e| Error::Decode {
            what: "optimizer record",
            message: format!("{}: {e}", path.display()),
        })
}
