//! The tensors of a Hugging Face folder, read through burn-store's safetensors reader: one
//! `model.safetensors`, or the shards a `model.safetensors.index.json` lists.
//!
//! A loader asks for each tensor by name with the shape its config implies, so a missing
//! tensor, a wrong shape or a non-float type is a typed error naming the tensor before any of
//! its data is read; [`Weights::finish`] then refuses tensors no loader asked for (a file of
//! another architecture). Stored f16 and bf16 values are widened to f32.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::nn::Linear;
use burn::store::{ModuleStore, SafetensorsStore, bridge, burn_pack};
use burn::tensor::{DType, Device, Tensor, TensorData};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::text::vocab::read_text;

type PackTensor = burn_pack::Tensor;

/// The single-file weights of a folder.
pub(crate) const SINGLE_FILE: &str = "model.safetensors";
/// The index of a sharded folder.
pub(crate) const INDEX_FILE: &str = "model.safetensors.index.json";

/// The tensors of a folder, by name, each with the file it lives in.
pub(crate) struct Weights {
    tensors: BTreeMap<String, (PackTensor, usize)>,
    files: Vec<PathBuf>,
    taken: BTreeSet<String>,
    device: Device,
}

/// The part of `model.safetensors.index.json` the loader reads.
#[derive(Deserialize)]
struct ShardIndex {
    weight_map: BTreeMap<String, String>,
}

/// How a stored matrix maps onto burn's `[in, out]` linear weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// PyTorch's `nn.Linear`: stored `[out, in]`, transposed on load.
    OutIn,
    /// GPT-2's `Conv1D`: stored `[in, out]`, as burn keeps it.
    InOut,
}

impl Weights {
    /// Opens the weights of `dir`: `model.safetensors`, else the shards of
    /// `model.safetensors.index.json`. Only headers are read here.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when neither file exists or a file cannot be read; [`Error::Decode`] for
    /// a malformed index, a shard name that leaves the folder, or a corrupt or truncated
    /// safetensors header; [`Error::Weights`] when a tensor is stored twice or is not in the
    /// shard the index names.
    pub(crate) fn open(dir: &Path, device: &Device) -> Result<Self> {
        let single = dir.join(SINGLE_FILE);
        let index = dir.join(INDEX_FILE);
        let mut weights = Self {
            tensors: BTreeMap::new(),
            files: Vec::new(),
            taken: BTreeSet::new(),
            device: device.clone(),
        };
        if single.is_file() {
            weights.read_file(single)?;
        } else if index.is_file() {
            let text = read_text(&index)?;
            let shards: ShardIndex = serde_json::from_str(&text).map_err(|e| Error::Decode {
                what: "model.safetensors.index.json",
                message: e.to_string(),
            })?;
            let names: BTreeSet<&String> = shards.weight_map.values().collect();
            for name in names {
                if Path::new(name).file_name().and_then(|n| n.to_str()) != Some(name.as_str()) {
                    return Err(Error::Decode {
                        what: "model.safetensors.index.json",
                        message: format!("shard {name:?} is not a file name in the folder"),
                    });
                }
                weights.read_file(dir.join(name))?;
            }
            for (tensor, shard) in &shards.weight_map {
                let file = weights.tensors.get(tensor).map(|(_, f)| &weights.files[*f]);
                if file.and_then(|f| f.file_name()) != Some(std::ffi::OsStr::new(shard)) {
                    return Err(Error::Weights {
                        path: index.display().to_string(),
                        tensor: tensor.clone(),
                        problem: format!("not stored in {shard}, where the index puts it"),
                    });
                }
            }
        } else {
            return Err(Error::io(
                "read",
                dir,
                format!("no {SINGLE_FILE} or {INDEX_FILE} in the folder"),
            ));
        }
        Ok(weights)
    }

    fn read_file(&mut self, path: PathBuf) -> Result<()> {
        if !path.is_file() {
            return Err(Error::io("read", &path, "no such file"));
        }
        let mut store = SafetensorsStore::from_file(&path);
        let tensors = store.get_all_tensors().map_err(|e| Error::Decode {
            what: "safetensors file",
            message: format!("{}: {e}", path.display()),
        })?;
        let file = self.files.len();
        for (name, tensor) in tensors {
            if self.tensors.contains_key(name) {
                return Err(Error::Weights {
                    path: path.display().to_string(),
                    tensor: name.clone(),
                    problem: "stored in two files".into(),
                });
            }
            self.tensors.insert(name.clone(), (tensor.clone(), file));
        }
        self.files.push(path);
        Ok(())
    }

    /// Whether the folder stores `name`.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    fn error(&self, name: &str, problem: String) -> Error {
        let path = match self.tensors.get(name) {
            Some((_, file)) => self.files[*file].display().to_string(),
            None => self
                .files
                .first()
                .and_then(|f| f.parent())
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
        };
        Error::Weights {
            path,
            tensor: name.to_string(),
            problem,
        }
    }

    /// The values of `name` as f32, checked to have `shape` and finite values.
    fn data(&mut self, name: &str, shape: &[usize]) -> Result<TensorData> {
        let Some((tensor, _)) = self.tensors.get(name) else {
            return Err(self.error(name, "missing".into()));
        };
        if tensor.shape.to_vec() != shape {
            let stored = tensor.shape.to_vec();
            return Err(self.error(name, format!("shape {stored:?}, expected {shape:?}")));
        }
        if !matches!(
            tensor.dtype,
            DType::F32 | DType::F16 | DType::BF16 | DType::F64
        ) {
            let dtype = tensor.dtype;
            return Err(self.error(name, format!("type {dtype:?}, expected a float type")));
        }
        let data = bridge::to_data(tensor)
            .map_err(|e| self.error(name, format!("unreadable: {e}")))?
            .convert::<f32>();
        let values = data
            .as_slice::<f32>()
            .map_err(|e| self.error(name, format!("unreadable: {e:?}")))?;
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(self.error(name, format!("holds a non-finite value ({bad})")));
        }
        self.taken.insert(name.to_string());
        Ok(data)
    }

    /// Tensor `name` of shape `shape` on the device.
    ///
    /// # Errors
    ///
    /// [`Error::Weights`] when the tensor is missing, has another shape or type, or holds a
    /// non-finite value.
    pub(crate) fn tensor<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
    ) -> Result<Tensor<D>> {
        let data = self.data(name, &shape)?;
        Ok(Tensor::from_data(data, &self.device))
    }

    /// Tensor `name` as a trainable parameter.
    pub(crate) fn param<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
    ) -> Result<Param<Tensor<D>>> {
        Ok(Param::from_tensor(self.tensor(name, shape)?))
    }

    /// The linear layer `{prefix}.weight` (and `{prefix}.bias` when `bias`), `inputs` to
    /// `outputs`, stored in `layout`.
    pub(crate) fn linear(
        &mut self,
        prefix: &str,
        inputs: usize,
        outputs: usize,
        bias: bool,
        layout: Layout,
    ) -> Result<Linear> {
        let name = format!("{prefix}.weight");
        let weight = match layout {
            Layout::InOut => self.tensor(&name, [inputs, outputs])?,
            // `into_data` then `from_data` makes the transposed copy contiguous, as burn's own
            // PyTorch adapter does, so every matmul reads it in order.
            Layout::OutIn => {
                let stored = self.tensor(&name, [outputs, inputs])?;
                Tensor::from_data(stored.transpose().into_data(), &self.device)
            }
        };
        let bias = if bias {
            Some(self.param(&format!("{prefix}.bias"), [outputs])?)
        } else {
            None
        };
        Ok(Linear {
            weight: Param::from_tensor(weight),
            bias,
        })
    }

    /// Refuses tensors that no loader asked for, except those `ignored` accepts (buffers some
    /// versions of `transformers` save, heads the crate does not use).
    ///
    /// # Errors
    ///
    /// [`Error::Weights`] naming the first unexpected tensor.
    pub(crate) fn finish(self, ignored: impl Fn(&str) -> bool) -> Result<()> {
        let unexpected = self
            .tensors
            .keys()
            .find(|name| !self.taken.contains(*name) && !ignored(name));
        match unexpected {
            Some(name) => Err(self.error(
                name,
                "unexpected (not part of the architecture config.json describes)".into(),
            )),
            None => Ok(()),
        }
    }
}

/// An LM head tied to the token embedding `table` (`[vocab, hidden]`): a linear layer
/// `[hidden, vocab]` with no bias, a transposed view of the same storage (no second copy of a
/// 50k x 768 table). It is a parameter of its own: fine-tuning it leaves the embedding as
/// loaded, and the other way round.
pub(crate) fn tied_head(table: &Tensor<2>) -> Linear {
    Linear {
        weight: Param::from_tensor(table.clone().transpose()),
        bias: None,
    }
}
