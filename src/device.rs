//! Choosing a backend at run time.
//!
//! burn 0.22 picks the backend with a [`Device`] value, so the rest of the crate never names a
//! backend. This module is the only place that does: it knows which backends this build was
//! compiled with (cargo features `ndarray`, `flex`, `tch`) and turns user-facing names such as
//! `"ndarray"` or `"tch-cuda:0"` into devices.
//!
//! burn marks its ndarray and LibTorch devices deprecated (they leave burn in 0.23); the
//! deprecation is acknowledged here, once, rather than crate-wide.

#[cfg(not(any(feature = "ndarray", feature = "flex", feature = "tch")))]
compile_error!("valuefn needs at least one backend feature: `ndarray` (default), `flex` or `tch`");

use burn::tensor::Device;

use crate::error::{Error, Result};

/// The device examples and doc tests use when none is named: the first CPU backend compiled in,
/// in the order ndarray, flex, LibTorch CPU.
///
/// # Example
///
/// ```
/// let device = valuefn::device::default_device();
/// let x = burn::Tensor::<1>::from_floats([1.0, 2.0], &device);
/// assert_eq!(x.dims(), [2]);
/// ```
pub fn default_device() -> Device {
    cpu_devices()
        .into_iter()
        .next()
        .map(|(_, device)| device)
        .expect("at least one backend feature is compiled in (checked at compile time)")
}

/// Every CPU backend compiled into this build, with its name as [`parse_device`] spells it.
///
/// Tests loop over this list so that one test binary checks every backend the build has.
///
/// # Example
///
/// ```
/// let names: Vec<_> = valuefn::device::cpu_devices().into_iter().map(|(n, _)| n).collect();
/// assert!(!names.is_empty());
/// ```
#[allow(deprecated)] // burn-ndarray and burn-tch are deprecated upstream; this is the one place that names them
#[allow(clippy::vec_init_then_push)] // each push is behind its own feature gate
pub fn cpu_devices() -> Vec<(&'static str, Device)> {
    let mut devices = Vec::new();
    #[cfg(feature = "ndarray")]
    devices.push(("ndarray", Device::ndarray()));
    #[cfg(feature = "flex")]
    devices.push(("flex", Device::flex()));
    #[cfg(feature = "tch")]
    devices.push(("tch-cpu", Device::libtorch()));
    devices
}

/// Whether `device` is one of [`cpu_devices`] (with or without autodiff): where host memory
/// is the table's own memory, so the tabular learners may run on a host copy.
///
/// # Example
///
/// ```
/// let device = valuefn::device::default_device();
/// assert!(valuefn::device::is_cpu(&device) && valuefn::device::is_cpu(&device.autodiff()));
/// ```
pub fn is_cpu(device: &Device) -> bool {
    let device = device.clone().inner();
    cpu_devices().into_iter().any(|(_, cpu)| cpu == device)
}

/// The device names this build accepts, for help texts and error messages.
pub fn available_device_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = cpu_devices().into_iter().map(|(name, _)| name).collect();
    if cfg!(feature = "tch") {
        names.push("tch-cuda:N");
    }
    names
}

/// Parses a device name: `ndarray`, `flex`, `tch-cpu`, `tch-cuda` or `tch-cuda:N`.
///
/// # Errors
///
/// [`Error::UnknownDevice`] when the name is not one of the above, or names a backend whose
/// cargo feature is not enabled in this build.
///
/// # Example
///
/// ```
/// use valuefn::device::parse_device;
///
/// assert!(parse_device("ndarray").is_ok());
/// assert!(parse_device("gpu please").is_err());
/// ```
#[allow(deprecated)] // see `cpu_devices`
pub fn parse_device(name: &str) -> Result<Device> {
    let unknown = |reason: String| Error::UnknownDevice {
        name: name.to_string(),
        reason,
    };
    let trimmed = name.trim().to_ascii_lowercase();
    if let Some((_, device)) = cpu_devices().into_iter().find(|(n, _)| *n == trimmed) {
        return Ok(device);
    }
    let missing_feature = |feature: &str| {
        unknown(format!(
            "this build lacks the `{feature}` cargo feature; available: {}",
            available_device_names().join(", ")
        ))
    };
    match trimmed.as_str() {
        "ndarray" => Err(missing_feature("ndarray")),
        "flex" => Err(missing_feature("flex")),
        "tch" | "tch-cpu" | "libtorch" => {
            if cfg!(feature = "tch") {
                parse_device("tch-cpu")
            } else {
                Err(missing_feature("tch"))
            }
        }
        cuda if cuda.starts_with("tch-cuda") => {
            let index = match cuda.strip_prefix("tch-cuda").unwrap_or_default() {
                "" => 0,
                rest => rest
                    .strip_prefix(':')
                    .and_then(|n| n.parse::<usize>().ok())
                    .ok_or_else(|| {
                        unknown("expected tch-cuda or tch-cuda:N with N a GPU index".into())
                    })?,
            };
            cuda_device(index).map_err(unknown)
        }
        _ => Err(unknown(format!(
            "expected one of: {}",
            available_device_names().join(", ")
        ))),
    }
}

/// `tch-cuda:index`, after asking LibTorch whether that GPU exists: burn's device constructor
/// does not check, and the first tensor op on a missing GPU would abort the process.
#[cfg(feature = "tch")]
#[allow(deprecated)] // see `cpu_devices`
fn cuda_device(index: usize) -> std::result::Result<Device, String> {
    let count = usize::try_from(tch::Cuda::device_count()).unwrap_or(0);
    if count == 0 {
        return Err(
            "LibTorch sees no CUDA device (no NVIDIA GPU or driver, or a CPU-only torch); use tch-cpu"
                .into(),
        );
    }
    if index >= count {
        return Err(format!(
            "CUDA device {index} does not exist: LibTorch sees {count} (tch-cuda:0..{})",
            count - 1
        ));
    }
    Ok(Device::libtorch_cuda(index))
}

#[cfg(not(feature = "tch"))]
fn cuda_device(_index: usize) -> std::result::Result<Device, String> {
    Err("CUDA devices need the `tch` cargo feature (see docs/backends.md)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_cpu_device_parses_by_name() {
        for (name, _) in cpu_devices() {
            assert!(parse_device(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn unknown_names_are_errors_that_list_the_alternatives() {
        let err = parse_device("tpu").unwrap_err();
        let Error::UnknownDevice { name, reason } = err else {
            panic!("wrong variant")
        };
        assert_eq!(name, "tpu");
        assert!(reason.contains(cpu_devices()[0].0), "{reason}");
        assert!(parse_device("tch-cuda:x").is_err());
    }

    #[cfg(not(feature = "tch"))]
    #[test]
    fn cuda_without_tch_names_the_missing_feature() {
        let err = parse_device("tch-cuda:0").unwrap_err().to_string();
        assert!(err.contains("`tch` cargo feature"), "{err}");
    }
}
