//! Writing a checkpoint folder without ever touching the files of the last good checkpoint.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use serde::Serialize;

use super::fault::durable_step;
use super::manifest::{FileEntry, MANIFEST, Manifest};
use crate::error::{Error, Result};

/// A save in progress: files go in under the next generation number, and nothing is visible to
/// a reader until [`CheckpointWriter::commit`] renames the new manifest into place.
pub(crate) struct CheckpointWriter {
    dir: PathBuf,
    previous: Option<Manifest>,
    manifest: Manifest,
}

impl CheckpointWriter {
    /// Starts a save of a `kind` checkpoint into `dir` (created if missing).
    pub(crate) fn begin(dir: &Path, kind: &str) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("write", dir, e))?;
        // An unreadable manifest protects nothing: its files are not a checkpoint.
        let previous = Manifest::read(dir).ok();
        let generation = previous.as_ref().map_or(1, |m| m.generation + 1);
        Ok(Self {
            dir: dir.to_path_buf(),
            previous,
            manifest: Manifest::new(kind, generation),
        })
    }

    /// Writes the logical file `name` (`"online.bpk"`) as `online.<generation>.bpk`, synced.
    pub(crate) fn bytes(&mut self, name: &str, data: &[u8]) -> Result<()> {
        let file = versioned(name, self.manifest.generation);
        durable_step();
        write_synced(&self.dir.join(&file), data)?;
        self.manifest
            .files
            .insert(name.to_string(), FileEntry::of(file, data));
        Ok(())
    }

    /// Writes `value` as pretty JSON.
    pub(crate) fn json<T: Serialize>(&mut self, name: &str, value: &T) -> Result<()> {
        let text = serde_json::to_vec_pretty(value)
            .map_err(|e| Error::io("write", &self.dir.join(name), e))?;
        self.bytes(name, &text)
    }

    /// Writes the record of `module` (a burnpack file).
    pub(crate) fn module<M: Module>(&mut self, name: &str, module: &M) -> Result<()> {
        let bytes = module
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| Error::io("write", &self.dir.join(name), e))?;
        self.bytes(name, &bytes)
    }

    /// Writes an optimiser's state (a burnpack file).
    pub(crate) fn optimizer(&mut self, name: &str, optimizer: &ModuleOptimizer) -> Result<()> {
        let bytes = optimizer
            .into_bytes()
            .map_err(|e| Error::io("write", &self.dir.join(name), e))?;
        self.bytes(name, &bytes)
    }

    /// Makes the new checkpoint the folder's checkpoint: writes the manifest beside the old
    /// one, renames it into place (atomic), then removes the files no manifest names any more.
    pub(crate) fn commit(self) -> Result<()> {
        let temporary = self.dir.join(format!("{MANIFEST}.tmp"));
        let text = serde_json::to_vec_pretty(&self.manifest)
            .map_err(|e| Error::io("write", &temporary, e))?;
        durable_step();
        write_synced(&temporary, &text)?;
        durable_step();
        let manifest = self.dir.join(MANIFEST);
        std::fs::rename(&temporary, &manifest).map_err(|e| Error::io("write", &manifest, e))?;
        sync_dir(&self.dir)?;
        durable_step();
        self.remove_stale();
        Ok(())
    }

    /// Removes the previous generation's files and the leftovers of saves that never
    /// committed. Failures are ignored: the new checkpoint is complete, and a leftover file is
    /// only disk space.
    fn remove_stale(&self) {
        let current: Vec<&str> = self
            .manifest
            .files
            .values()
            .map(|entry| entry.file.as_str())
            .collect();
        let mut stale: Vec<String> = self
            .previous
            .iter()
            .flat_map(|previous| previous.files.values().map(|entry| entry.file.clone()))
            .collect();
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            stale.extend(entries.filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                self.manifest
                    .files
                    .keys()
                    .any(|logical| is_generation_of(&name, logical))
                    .then_some(name)
            }));
        }
        for file in stale {
            if !current.contains(&file.as_str()) {
                let _ = std::fs::remove_file(self.dir.join(file));
            }
        }
    }
}

/// `online.bpk` at generation 3 is `online.3.bpk`; a name without extension gets a suffix.
fn versioned(name: &str, generation: u64) -> String {
    match name.rsplit_once('.') {
        Some((stem, extension)) => format!("{stem}.{generation}.{extension}"),
        None => format!("{name}.{generation}"),
    }
}

/// Whether `file` is the logical file `name` at some generation.
fn is_generation_of(file: &str, name: &str) -> bool {
    let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
    let Some(rest) = file.strip_prefix(stem).and_then(|r| r.strip_prefix('.')) else {
        return false;
    };
    let digits = if extension.is_empty() {
        rest
    } else {
        match rest
            .strip_suffix(extension)
            .and_then(|r| r.strip_suffix('.'))
        {
            Some(digits) => digits,
            None => return false,
        }
    };
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn write_synced(path: &Path, data: &[u8]) -> Result<()> {
    let write = || -> std::io::Result<()> {
        let mut file = File::create(path)?;
        file.write_all(data)?;
        file.sync_all()
    };
    write().map_err(|e| Error::io("write", path, e))
}

/// Makes a rename inside `dir` durable (POSIX: the directory entry is data of the directory).
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("write", dir, e))
}

/// Elsewhere a directory cannot be opened as a file; the rename is as durable as the OS makes it.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_are_named_and_recognised() {
        assert_eq!(versioned("online.bpk", 3), "online.3.bpk");
        assert_eq!(versioned("state", 12), "state.12");
        assert!(is_generation_of("online.3.bpk", "online.bpk"));
        assert!(is_generation_of("state.12", "state"));
        assert!(!is_generation_of("online.bpk", "online.bpk"));
        assert!(!is_generation_of("online.x.bpk", "online.bpk"));
        assert!(!is_generation_of("online_2.3.bpk", "online.bpk"));
        assert!(!is_generation_of("notes.txt", "online.bpk"));
    }
}
