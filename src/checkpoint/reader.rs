//! Reading a checkpoint folder: every file checked against the manifest before it is decoded.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::de::DeserializeOwned;

use super::manifest::Manifest;
use crate::error::{Error, Result};

/// An open checkpoint folder of a known kind.
pub(crate) struct CheckpointReader {
    dir: PathBuf,
    manifest: Manifest,
}

impl CheckpointReader {
    /// Reads the manifest of `dir` and checks that it records a checkpoint of `kind`.
    pub(crate) fn open(dir: &Path, kind: &str) -> Result<Self> {
        let manifest = Manifest::read(dir)?;
        manifest.expect_kind(dir, kind)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    /// Whether the manifest lists the logical file `name`.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.manifest.files.contains_key(name)
    }

    /// The contents of the logical file `name`, checked against the manifest.
    pub(crate) fn bytes(&self, name: &str) -> Result<Vec<u8>> {
        read_checked(&self.dir, &self.manifest, name)
    }

    /// A JSON header whose format version (`version_of`) must be `expected`.
    pub(crate) fn header<T: DeserializeOwned>(
        &self,
        name: &str,
        what: &'static str,
        version_of: impl Fn(&T) -> u32,
        expected: u32,
    ) -> Result<T> {
        let value: T = self.json(name, what)?;
        let version = version_of(&value);
        if version != expected {
            return Err(Error::Decode {
                what,
                message: format!("version {version} (this build reads {expected})"),
            });
        }
        Ok(value)
    }

    /// A JSON file.
    pub(crate) fn json<T: DeserializeOwned>(&self, name: &str, what: &'static str) -> Result<T> {
        serde_json::from_slice(&self.bytes(name)?).map_err(|e| Error::Decode {
            what,
            message: e.to_string(),
        })
    }

    /// The module record `name` loaded into `template` (same architecture, any weights).
    pub(crate) fn module<M: Module>(&self, name: &str, template: M) -> Result<M> {
        let decode = |e: &dyn std::fmt::Display| Error::Decode {
            what: "network record",
            message: format!("{}: {e}", self.dir.join(name).display()),
        };
        let bytes = Bytes::from_bytes_vec(self.bytes(name)?);
        let record = ModuleRecord::from_bytes(bytes).map_err(|e| decode(&e))?;
        template.try_load_record(record).map_err(|e| decode(&e))
    }

    /// The optimiser state `name` loaded into `fresh` (built from the saved config).
    pub(crate) fn optimizer(&self, name: &str, fresh: ModuleOptimizer) -> Result<ModuleOptimizer> {
        let bytes = Bytes::from_bytes_vec(self.bytes(name)?);
        fresh.from_bytes(bytes).map_err(|e| Error::Decode {
            what: "optimizer record",
            message: format!("{}: {e}", self.dir.join(name).display()),
        })
    }
}

/// Reads the logical file `name` of the checkpoint in `dir`: its size is checked before it is
/// read (a file grown by garbage is not read into memory), its hash after.
pub(crate) fn read_checked(dir: &Path, manifest: &Manifest, name: &str) -> Result<Vec<u8>> {
    let entry = manifest.entry(dir, name)?;
    let path = dir.join(&entry.file);
    let missing = |problem: String| Error::Checkpoint {
        path: path.display().to_string(),
        problem,
    };
    let length = match std::fs::metadata(&path) {
        Ok(metadata) => metadata.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(missing(format!(
                "missing (the manifest lists it as {name:?})"
            )));
        }
        Err(e) => return Err(Error::io("read", &path, e)),
    };
    if length != entry.bytes {
        return Err(missing(format!(
            "{length} bytes where the manifest records {} (truncated or overwritten)",
            entry.bytes
        )));
    }
    let data = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
    entry.check(&path, &data)?;
    Ok(data)
}
