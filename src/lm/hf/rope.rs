//! Rotary position embeddings' inverse frequencies: plain RoPE, and Llama 3's scaled variant.

use crate::error::{Error, Result};

/// How the rotary frequencies are scaled (`rope_scaling` / `rope_parameters` of a
/// `config.json`), read with [`RopeScaling::from_json`], which checks the parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RopeScaling {
    /// Plain RoPE: `inv_freq_i = 1 / base^(2i / d)`.
    Default,
    /// Llama 3's (`rope_type: "llama3"`, Llama 3.1 and 3.2): wavelengths longer than
    /// `original_max_position_embeddings / low_freq_factor` are stretched by `factor`, those
    /// shorter than `original_max_position_embeddings / high_freq_factor` kept, and those in
    /// between interpolated.
    Llama3 {
        /// The stretch of the long wavelengths (> 0).
        factor: f64,
        /// Wavelengths beyond `original / low_freq_factor` are stretched (> 0).
        low_freq_factor: f64,
        /// Wavelengths below `original / high_freq_factor` are kept (> `low_freq_factor`).
        high_freq_factor: f64,
        /// The context length the model was first trained at (> 0).
        original_max_position_embeddings: f64,
    },
}

impl RopeScaling {
    /// Reads the scaling from a `rope_scaling` or `rope_parameters` object (`None`, `null`, or
    /// `rope_type` / `type` `"default"` for plain RoPE).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a type the crate does not implement (`linear`, `dynamic`,
    /// `yarn`, ...) or a missing or bad `llama3` parameter.
    pub fn from_json(field: &'static str, settings: Option<&serde_json::Value>) -> Result<Self> {
        let Some(settings) = settings.filter(|s| !s.is_null()) else {
            return Ok(Self::Default);
        };
        let kind = settings
            .get("rope_type")
            .or_else(|| settings.get("type"))
            .and_then(|t| t.as_str())
            .unwrap_or("default");
        match kind {
            "default" => Ok(Self::Default),
            "llama3" => {
                let number = |key: &str| settings.get(key).and_then(|v| v.as_f64());
                let (Some(factor), Some(low), Some(high), Some(original)) = (
                    number("factor"),
                    number("low_freq_factor"),
                    number("high_freq_factor"),
                    number("original_max_position_embeddings"),
                ) else {
                    return Err(Error::config(
                        field,
                        "llama3 scaling with factor, low_freq_factor, high_freq_factor and \
                         original_max_position_embeddings",
                        settings,
                    ));
                };
                let valid = [factor, low, high, original]
                    .iter()
                    .all(|v| v.is_finite() && *v > 0.0)
                    && low < high;
                if !valid {
                    return Err(Error::config(
                        field,
                        "positive finite llama3 parameters with low_freq_factor < high_freq_factor",
                        settings,
                    ));
                }
                Ok(Self::Llama3 {
                    factor,
                    low_freq_factor: low,
                    high_freq_factor: high,
                    original_max_position_embeddings: original,
                })
            }
            other => Err(Error::config(
                field,
                "absent, or of rope_type \"default\" or \"llama3\" (other scalings are not \
                 implemented)",
                format!("rope_type {other:?}"),
            )),
        }
    }

    /// The `head_width / 2` inverse frequencies for RoPE base `base`, in f32 as
    /// `transformers` computes them.
    pub fn inverse_frequencies(&self, base: f64, head_width: usize) -> Vec<f32> {
        let base = base as f32;
        let plain =
            (0..head_width / 2).map(|i| 1.0 / base.powf((2 * i) as f32 / head_width as f32));
        match *self {
            Self::Default => plain.collect(),
            Self::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_max_position_embeddings,
            } => {
                let (factor, low, high, original) = (
                    factor as f32,
                    low_freq_factor as f32,
                    high_freq_factor as f32,
                    original_max_position_embeddings as f32,
                );
                let (low_wavelength, high_wavelength) = (original / low, original / high);
                plain
                    .map(|frequency| {
                        let wavelength = 2.0 * std::f32::consts::PI / frequency;
                        if wavelength < high_wavelength {
                            frequency
                        } else if wavelength > low_wavelength {
                            frequency / factor
                        } else {
                            let smooth = (original / wavelength - low) / (high - low);
                            (1.0 - smooth) * frequency / factor + smooth * frequency
                        }
                    })
                    .collect()
            }
        }
    }
}
