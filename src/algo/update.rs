//! The batched move toward targets that every tabular updater ends with.

use burn::tensor::{IndexingUpdateOp, Int, Tensor};

use crate::algo::step_size::StepSizes;

/// Moves `table[i]` toward `targets` for each flat index `i` of the batch and returns the new
/// table with the TD errors `targets - table[i]`.
///
/// All TD errors are computed from the table as it was before the batch, and the increments
/// `alpha * delta` of a repeated entry are summed. With distinct entries whose targets do not
/// read each other this equals applying the transitions one by one; with a repeated entry it is
/// the "batch" (synchronous) semantics, which tests pin.
pub(crate) fn move_toward(
    table: Tensor<1>,
    indices: Tensor<1, Int>,
    targets: Tensor<1>,
    step_sizes: &mut StepSizes,
) -> (Tensor<1>, Tensor<1>) {
    let device = table.device();
    let [len] = table.dims();
    let td_errors = targets - table.clone().select(0, indices.clone());
    let increments = step_sizes.scale(td_errors.clone(), indices.clone(), len, &device);
    let table = table.select_assign(0, indices, increments, IndexingUpdateOp::Add);
    (table, td_errors)
}
