//! States as positions in shared token sequences: what a token model reads.

use std::sync::Arc;

use burn::tensor::{Device, Int, Tensor};

use crate::batch::BatchRows;
use crate::batch::TokenBatch;
use crate::encode::ObservationEncoder;
use crate::encode::PaddedTokens;
use crate::env::text::TokenState;
use crate::error::{Error, Result};
use crate::tensor_ops::to_indices;

/// A batch of text-MDP states, each one a **position in a token sequence**: row `i` is the
/// prefix `0..=position` of sequence `sequence`, the state a causal model summarises at that
/// position.
///
/// Many states share one sequence: the states of a generated episode are the prefixes of its
/// final sequence, and each transition's next state is one position further. A
/// [`crate::lm::TokenModel`] runs its body **once** over the sequences a batch references and
/// reads every row's hidden state from that pass, so scoring the `T` states of a `T`-token
/// episode costs one forward pass, not `T`. A plain [`TokenBatch`] converts with `From` (each
/// row at its last real token).
///
/// Selecting rows ([`BatchRows`]) keeps the shared sequences; concatenating batches that share
/// them (the states and next states of one rollout) keeps them shared, so both are scored by
/// the same pass.
///
/// # Example
///
/// ```
/// use valuefn::encode::ObservationEncoder;
/// use valuefn::env::text::TokenState;
/// use valuefn::encode::PaddedTokens;
/// use valuefn::lm::TokenPositions;
///
/// let device = valuefn::device::default_device();
/// // One episode: prompt <bos> a, then two generated tokens.
/// let episode = TokenState { prompt: vec![1, 4].into(), generated: vec![5, 6] };
/// let sequences = PaddedTokens.encode(&[episode], &device)?;
/// // Its two decisions: after "<bos> a" (position 1) and after "<bos> a 5" (position 2).
/// let states = TokenPositions::new(sequences, vec![(0, 1), (0, 2)])?;
/// assert_eq!(states.len(), 2);
/// assert!(TokenPositions::new(states.sequences().clone(), vec![(0, 4)]).is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TokenPositions {
    sequences: Arc<Sequences>,
    rows: Vec<(usize, usize)>,
}

/// The shared sequences and their lengths on the host (read back once).
#[derive(Debug)]
struct Sequences {
    batch: TokenBatch,
    lengths: Vec<usize>,
}

impl TokenPositions {
    /// States at `rows` (`(sequence, position)` pairs) of `sequences`.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] for no rows; [`Error::ShapeMismatch`] for a sequence index outside the
    /// batch or a position at or past its sequence's length.
    pub fn new(sequences: TokenBatch, rows: Vec<(usize, usize)>) -> Result<Self> {
        if rows.is_empty() {
            return Err(Error::Empty {
                what: "token positions (no rows)",
            });
        }
        let lengths = to_indices(sequences.lengths.clone());
        for &(sequence, position) in &rows {
            let Some(&length) = lengths.get(sequence) else {
                return Err(Error::ShapeMismatch {
                    what: "token position's sequence index (below the number of sequences)",
                    expected: vec![lengths.len()],
                    actual: vec![sequence],
                });
            };
            if position >= length {
                return Err(Error::ShapeMismatch {
                    what: "token position (below its sequence's length)",
                    expected: vec![length],
                    actual: vec![position],
                });
            }
        }
        Ok(Self {
            sequences: Arc::new(Sequences {
                batch: sequences,
                lengths,
            }),
            rows,
        })
    }

    /// States at `rows` of `states`' sequences, padded on `device`; the lengths are taken from
    /// the states rather than read back, and the rows are trusted (the caller built them from
    /// those lengths).
    pub(crate) fn from_states(
        states: &[TokenState],
        rows: Vec<(usize, usize)>,
        device: &Device,
    ) -> Result<Self> {
        Ok(Self {
            sequences: Arc::new(Sequences {
                batch: PaddedTokens.encode(states, device)?,
                lengths: states.iter().map(TokenState::len).collect(),
            }),
            rows,
        })
    }

    /// The sequences the rows point into.
    pub fn sequences(&self) -> &TokenBatch {
        &self.sequences.batch
    }

    /// Each row's `(sequence, position)`.
    pub fn rows(&self) -> &[(usize, usize)] {
        &self.rows
    }

    /// Number of rows (states).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows (never true for a batch built by [`TokenPositions::new`]).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Other rows of the same sequences, trusted to be in range (the caller built them from
    /// the lengths).
    pub(crate) fn with_rows(&self, rows: Vec<(usize, usize)>) -> Self {
        Self {
            sequences: Arc::clone(&self.sequences),
            rows,
        }
    }

    /// The sequences' lengths, read back when the batch was built.
    pub(crate) fn lengths(&self) -> &[usize] {
        &self.sequences.lengths
    }
}

/// Each row of a batch at its last real token (a row of length 0 keeps position 0, and the
/// model reports the empty row).
impl From<TokenBatch> for TokenPositions {
    fn from(batch: TokenBatch) -> Self {
        let lengths = to_indices(batch.lengths.clone());
        let rows = lengths
            .iter()
            .enumerate()
            .map(|(row, &n)| (row, n.saturating_sub(1)))
            .collect();
        Self {
            sequences: Arc::new(Sequences { batch, lengths }),
            rows,
        }
    }
}

impl BatchRows for TokenPositions {
    fn num_rows(&self) -> usize {
        self.len()
    }

    fn select_rows(&self, indices: Tensor<1, Int>) -> Self {
        Self {
            sequences: Arc::clone(&self.sequences),
            rows: to_indices(indices)
                .into_iter()
                .map(|i| self.rows[i])
                .collect(),
        }
    }

    /// Parts that share their sequences stay on them; otherwise the sequences are
    /// concatenated too and the rows renumbered.
    fn concat_rows(parts: Vec<Self>) -> Self {
        let first = parts
            .first()
            .expect("BatchRows::concat_rows needs at least one part");
        if parts
            .iter()
            .all(|p| Arc::ptr_eq(&p.sequences, &first.sequences))
        {
            return Self {
                sequences: Arc::clone(&first.sequences),
                rows: parts.iter().flat_map(|p| p.rows.iter().copied()).collect(),
            };
        }
        let mut rows = Vec::new();
        let mut lengths = Vec::new();
        for part in &parts {
            let offset = lengths.len();
            rows.extend(part.rows.iter().map(|&(s, p)| (s + offset, p)));
            lengths.extend_from_slice(&part.sequences.lengths);
        }
        let batch = TokenBatch::concat_rows(parts.iter().map(|p| p.sequences().clone()).collect());
        Self {
            sequences: Arc::new(Sequences { batch, lengths }),
            rows,
        }
    }
}

/// The [`ObservationEncoder`] from token states to [`TokenPositions`]: each state is its own
/// sequence, read at its last token (what [`crate::algo::actor_critic::train_actor_critic`]
/// and [`crate::algo::actor_critic::evaluate_actor`] need to drive a
/// [`crate::lm::TokenModel`] through the generic loops).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LastTokens;

impl ObservationEncoder<TokenState> for LastTokens {
    type Output = TokenPositions;

    /// # Errors
    ///
    /// [`Error::Empty`] for an empty batch.
    fn encode(&self, states: &[TokenState], device: &Device) -> Result<TokenPositions> {
        Ok(PaddedTokens.encode(states, device)?.into())
    }
}
