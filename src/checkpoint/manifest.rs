//! `checkpoint.json`: what a checkpoint folder holds, with each file's size and SHA-256.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The manifest's file name inside a checkpoint folder.
pub const MANIFEST: &str = "checkpoint.json";

/// The `format` field every manifest carries.
const FORMAT: &str = "valuefn checkpoint";

/// The contents of `checkpoint.json`: which files make up the checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `"valuefn checkpoint"`.
    pub format: String,
    /// What was saved: `"dqn"`, `"actor_critic"`, `"ilql"`, `"token_model"`, `"dqn_training"`.
    pub kind: String,
    /// Counts the saves into this folder; the files of save `g` carry `g` in their names.
    pub generation: u64,
    /// Each part of the checkpoint by its logical name (`"online.bpk"`), with the file that
    /// holds it.
    pub files: BTreeMap<String, FileEntry>,
}

/// One file of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The file's name inside the folder (`"online.3.bpk"`).
    pub file: String,
    /// Its length in bytes.
    pub bytes: u64,
    /// The SHA-256 of its contents, as 64 lowercase hex digits (what `sha256sum` prints).
    pub sha256: String,
}

impl FileEntry {
    /// The entry of a file named `file` holding `data`.
    pub(crate) fn of(file: String, data: &[u8]) -> Self {
        Self {
            file,
            bytes: data.len() as u64,
            sha256: sha256_hex(data),
        }
    }

    /// Checks that `data`, read from `path`, is this entry's file.
    pub(crate) fn check(&self, path: &Path, data: &[u8]) -> Result<()> {
        let problem = if data.len() as u64 != self.bytes {
            format!(
                "{} bytes where the manifest records {} (truncated or overwritten)",
                data.len(),
                self.bytes
            )
        } else if sha256_hex(data) != self.sha256 {
            "its SHA-256 differs from the manifest's (the file is corrupt)".to_string()
        } else {
            return Ok(());
        };
        Err(Error::Checkpoint {
            path: path.display().to_string(),
            problem,
        })
    }
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

impl Manifest {
    pub(crate) fn new(kind: &str, generation: u64) -> Self {
        Self {
            format: FORMAT.to_string(),
            kind: kind.to_string(),
            generation,
            files: BTreeMap::new(),
        }
    }

    /// Reads and checks the manifest of the checkpoint folder `dir` (not the files it lists:
    /// see [`verify`]).
    ///
    /// # Errors
    ///
    /// [`Error::Checkpoint`] when `dir` holds no manifest or one that does not decode, whose
    /// format is not this crate's, or that names a file outside the folder.
    pub fn read(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let path = dir.join(MANIFEST);
        let refuse = |problem: String| Error::Checkpoint {
            path: path.display().to_string(),
            problem,
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(refuse(
                    "no manifest: not a checkpoint folder, or a save that never completed \
                     (folders written before valuefn's atomic checkpoints have none either: \
                     load them with that version and save again)"
                        .to_string(),
                ));
            }
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| refuse(format!("does not decode: {e}")))?;
        if manifest.format != FORMAT {
            return Err(refuse(format!(
                "format {:?}, expected {FORMAT:?}",
                manifest.format
            )));
        }
        for entry in manifest.files.values() {
            let plain = Path::new(&entry.file).file_name() == Some(entry.file.as_ref());
            if !plain || entry.file == MANIFEST {
                return Err(refuse(format!(
                    "lists {:?}, which is not a file of the folder",
                    entry.file
                )));
            }
        }
        Ok(manifest)
    }

    /// Checks that the manifest records a checkpoint of `kind`.
    pub(crate) fn expect_kind(&self, dir: &Path, kind: &str) -> Result<()> {
        if self.kind == kind {
            Ok(())
        } else {
            Err(Error::Checkpoint {
                path: dir.display().to_string(),
                problem: format!("holds a {:?} checkpoint, not a {kind:?} one", self.kind),
            })
        }
    }

    /// The entry of the logical file `name`.
    pub(crate) fn entry(&self, dir: &Path, name: &str) -> Result<&FileEntry> {
        self.files.get(name).ok_or_else(|| Error::Checkpoint {
            path: dir.display().to_string(),
            problem: format!("the manifest lists no {name:?}"),
        })
    }
}

/// Checks the checkpoint folder `dir` completely: its manifest, then every file it lists
/// (present, of the recorded size and SHA-256). Returns the manifest. Loading does the same
/// checks on the files it reads; this is for a caller that wants to know before loading (a
/// job scheduler picking the last good checkpoint, say).
///
/// # Errors
///
/// [`Error::Checkpoint`] naming the manifest or the first file that is missing or differs;
/// [`Error::Io`] when a file cannot be read.
pub fn verify(dir: impl AsRef<Path>) -> Result<Manifest> {
    let dir = dir.as_ref();
    let manifest = Manifest::read(dir)?;
    for name in manifest.files.keys() {
        super::reader::read_checked(dir, &manifest, name)?;
    }
    Ok(manifest)
}
