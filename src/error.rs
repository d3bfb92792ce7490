//! The crate's error type.
//!
//! Every public function that a user can call with bad input returns [`Result`], and each kind
//! of mistake has its own variant, so callers (and tests) can match on what went wrong instead
//! of parsing a message.

use std::fmt;

/// Everything that can go wrong when calling `valuefn` with bad input.
///
/// # Example
///
/// ```
/// use valuefn::prelude::*;
///
/// let err = SolverConfig::new().with_gamma(1.5).validate().unwrap_err();
/// assert!(matches!(err, Error::InvalidConfig { field: "gamma", .. }));
/// assert_eq!(err.to_string(), "invalid config: gamma must be in [0, 1], got 1.5");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An action outside the environment's (or table's) action space.
    #[error("action {action} is outside the action space {space}")]
    InvalidAction {
        /// The offending action, formatted.
        action: String,
        /// The action space, formatted.
        space: String,
    },

    /// A state index outside the state space.
    #[error("state {state} is outside the state space of {num_states} states")]
    InvalidState {
        /// The offending state index.
        state: usize,
        /// How many states there are.
        num_states: usize,
    },

    /// `step` was called on an episode that has ended (terminated or truncated) or was never
    /// started.
    #[error("step called before reset or after the episode ended; call reset first")]
    EpisodeFinished,

    /// A configuration value outside its valid range.
    #[error("invalid config: {field} must be {expected}, got {value}")]
    InvalidConfig {
        /// Name of the field, as spelled in the config struct.
        field: &'static str,
        /// The valid range, in words (`"in [0, 1]"`).
        expected: &'static str,
        /// The value that was given, formatted.
        value: String,
    },

    /// A tensor (or slice) argument whose shape does not match what the function needs.
    #[error("shape mismatch for {what}: expected {expected:?}, got {actual:?}")]
    ShapeMismatch {
        /// Which argument.
        what: &'static str,
        /// The expected shape (dimensions of size 0 mean "any").
        expected: Vec<usize>,
        /// The shape that was given.
        actual: Vec<usize>,
    },

    /// A number that must be finite (a reward, a probability, a value) was NaN or infinite.
    #[error("{what} must be finite, got {value}")]
    NonFinite {
        /// What the number was.
        what: &'static str,
        /// The value, as given.
        value: f64,
    },

    /// A transition model that is not a valid MDP (probabilities that do not sum to one, a next
    /// state out of range, a state-action pair with no transitions, ...).
    #[error("invalid MDP: {0}")]
    InvalidMdp(String),

    /// An iterative solver hit its iteration cap before the residual fell below the tolerance.
    #[error(
        "{solver} did not converge in {iterations} iterations (residual {residual:e} > tolerance {tolerance:e})"
    )]
    NotConverged {
        /// Which solver.
        solver: &'static str,
        /// Iterations run.
        iterations: usize,
        /// Residual after the last iteration.
        residual: f64,
        /// The tolerance asked for.
        tolerance: f64,
    },

    /// The Bellman linear system `(I - gamma P) v = r` has no unique solution: with `gamma = 1`
    /// the policy never reaches a terminal transition from some state.
    #[error(
        "policy evaluation system is singular: with gamma = 1 some state never reaches a terminal transition"
    )]
    SingularSystem,

    /// A device string that names no backend compiled into this build.
    #[error("unknown or unavailable device {name:?}: {reason}")]
    UnknownDevice {
        /// The string that was given.
        name: String,
        /// Why it cannot be used, and what can.
        reason: String,
    },

    /// An input that must hold at least one element (a corpus, a task list, a text to build a
    /// vocabulary from) was empty.
    #[error("{what} is empty")]
    Empty {
        /// What was empty.
        what: &'static str,
    },

    /// A malformed line in a text file (a task file, for instance).
    #[error("{source_name}, line {line}: {message}")]
    Parse {
        /// The file, or the name the caller gave text parsed from memory.
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        message: String,
    },

    /// Reading or writing a file failed.
    #[error("cannot {action} {path}: {message}")]
    Io {
        /// `"read"` or `"write"`.
        action: &'static str,
        /// The path.
        path: String,
        /// The operating system's message.
        message: String,
    },

    /// Saved data (a vocabulary, a config) that does not decode into a valid value.
    #[error("cannot decode {what}: {message}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Why it failed.
        message: String,
    },

    /// An observation the environment could not have produced (a token prefix that an
    /// enumerated text MDP does not contain, for instance).
    #[error("unknown observation: {0}")]
    UnknownObservation(String),

    /// Enumerating an MDP would create more states than the limit allows; nothing was built.
    #[error(
        "{what} has {} states, beyond the limit of {limit} states (and 64 x {limit} state-action pairs); shrink the vocabulary, the horizon or the task set, or raise the limit",
        count_text(*.states)
    )]
    TooManyStates {
        /// What was being enumerated.
        what: &'static str,
        /// The number of states it would have (saturating at `u128::MAX`, which the message
        /// prints as a lower bound).
        states: u128,
        /// The limit.
        limit: usize,
    },

    /// A weight file whose tensors do not fit the model being loaded: a tensor that is missing,
    /// unexpected, of the wrong shape or of a type that is not a float.
    #[error("{path}: tensor {tensor:?}: {problem}")]
    Weights {
        /// The file (or folder) the tensors come from.
        path: String,
        /// The tensor's name as stored.
        tensor: String,
        /// What is wrong with it.
        problem: String,
    },

    /// A checkpoint folder that cannot be trusted: its manifest (`checkpoint.json`) is missing
    /// or of another kind, or a file it lists is missing, of another size or of another SHA-256
    /// (truncated, overwritten or bit-flipped). Nothing was loaded.
    #[error("checkpoint {path}: {problem}")]
    Checkpoint {
        /// The folder, or the file in it that is wrong.
        path: String,
        /// What is wrong.
        problem: String,
    },

    /// An input whose size (a count of elements, states or tokens) is beyond a documented
    /// limit, or whose size does not fit in `usize`: refused before anything is allocated.
    #[error("{what}: {} is beyond the limit of {limit}", count_text(*.size))]
    TooLarge {
        /// What was being sized, with its unit (`"one-hot elements (batch x num_states)"`).
        what: &'static str,
        /// The size asked for (saturating at `u128::MAX`).
        size: u128,
        /// The limit, as documented where it applies.
        limit: u128,
    },
}

/// A count that may have saturated at `u128::MAX`: printed exactly, or as a lower bound.
fn count_text(count: u128) -> String {
    if count == u128::MAX {
        format!("at least {count} (the count saturated)")
    } else {
        count.to_string()
    }
}

impl Error {
    /// Builds [`Error::Io`] for `path`.
    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
        message: impl fmt::Display,
    ) -> Self {
        Error::Io {
            action,
            path: path.display().to_string(),
            message: message.to_string(),
        }
    }

    /// Builds [`Error::InvalidConfig`] from any displayable value.
    pub(crate) fn config(
        field: &'static str,
        expected: &'static str,
        value: impl fmt::Display,
    ) -> Self {
        Error::InvalidConfig {
            field,
            expected,
            value: value.to_string(),
        }
    }

    /// Builds [`Error::InvalidAction`] from displayable parts.
    pub(crate) fn action(action: impl fmt::Debug, space: impl fmt::Debug) -> Self {
        Error::InvalidAction {
            action: format!("{action:?}"),
            space: format!("{space:?}"),
        }
    }
}

/// Shorthand for `std::result::Result<T, valuefn::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Checks that `gamma` is a discount factor in `[0, 1]`.
pub(crate) fn check_gamma(gamma: f64) -> Result<()> {
    check_unit_interval("gamma", gamma)
}

/// Checks that `value` lies in `[0, 1]` (NaN fails).
pub(crate) fn check_unit_interval(field: &'static str, value: f64) -> Result<()> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::config(field, "in [0, 1]", value))
    }
}

/// Checks that `value` is finite and strictly positive.
pub(crate) fn check_positive(field: &'static str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::config(field, "finite and > 0", value))
    }
}

/// Checks that a positive scale (a temperature, a gain, an optimiser's epsilon) is a normal,
/// finite `f32`: the tensors compute with it in `f32`, where 1e-300 is 0 and 1e300 infinite.
pub(crate) fn check_f32_scale(field: &'static str, value: f64) -> Result<()> {
    if (f64::from(f32::MIN_POSITIVE)..=f64::from(f32::MAX)).contains(&value) {
        Ok(())
    } else {
        Err(Error::config(
            field,
            "in [f32::MIN_POSITIVE, f32::MAX] (about [1.2e-38, 3.4e38])",
            value,
        ))
    }
}

/// Checks that a count that sizes an allocation (copies, episodes, a batch) is at most
/// `limit`, before anything is allocated.
pub(crate) fn check_count(what: &'static str, count: usize, limit: usize) -> Result<()> {
    check_size(what, count, 1, limit).map(|_| ())
}

/// Checks that `a * b` elements fit under `limit`; the error names the size and the limit.
pub(crate) fn check_size(what: &'static str, a: usize, b: usize, limit: usize) -> Result<usize> {
    let size = a as u128 * b as u128;
    if size <= limit as u128 {
        Ok(size as usize)
    } else {
        Err(Error::TooLarge {
            what,
            size,
            limit: limit as u128,
        })
    }
}

/// Checks that `value` is finite once rounded to `f32` (what tensors store): a finite `f64`
/// such as `1e300` becomes infinite there.
pub(crate) fn check_finite_f32(what: &'static str, value: f64) -> Result<f32> {
    let narrowed = value as f32;
    if narrowed.is_finite() {
        Ok(narrowed)
    } else {
        Err(Error::NonFinite { what, value })
    }
}

/// Checks that a number is finite.
pub(crate) fn check_finite(what: &'static str, value: f64) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::NonFinite { what, value })
    }
}
