//! The batched move toward targets that every tabular updater ends with.

use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, TensorData};

use crate::algo::tabular::step_size::StepSizes;

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

/// [`move_toward`] on a table in host memory: the same TD errors (all from the table before
/// the batch) and the same summed increments, in `f32`.
pub(crate) fn move_toward_host(
    table: &mut [f32],
    indices: &[usize],
    targets: &[f32],
    step_sizes: &mut StepSizes,
) -> Vec<f32> {
    let td_errors: Vec<f32> = indices
        .iter()
        .zip(targets)
        .map(|(&i, &target)| target - table[i])
        .collect();
    let mut increments = td_errors.clone();
    step_sizes.scale_host(&mut increments, indices, table.len());
    for (&i, increment) in indices.iter().zip(increments) {
        table[i] += increment;
    }
    td_errors
}

/// Host results (TD errors) as a `[B]` tensor on the table's device: what the updaters return
/// on either path.
pub(crate) fn host_tensor(values: Vec<f32>, device: &Device) -> Tensor<1> {
    let len = values.len();
    Tensor::from_data(TensorData::new(values, [len]), device)
}
