//! Global-norm gradient clipping and the target network's Polyak update: visitors over a
//! module's parameters.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Gradients, Tensor};

use crate::error::{Error, Result};

/// Refuses a backward pass that reached none of `module`'s parameters: the module was built
/// on (or copied to) a device without autodiff, e.g. a `valid()` copy forked onto an autodiff
/// device without `train()`, and an optimiser step would silently change nothing.
pub(crate) fn require_gradients(grads: &GradientsParams, what: &'static str) -> Result<()> {
    if grads.is_empty() {
        return Err(no_gradient(what));
    }
    Ok(())
}

fn no_gradient(what: &'static str) -> Error {
    Error::config(
        what,
        "parameters that require gradients (build it on `device.autodiff()`; an inference copy \
         needs `.train()` after `fork`)",
        "no parameter received a gradient",
    )
}

/// `loss.backward()`, or the error of [`require_gradients`] when no parameter of the networks
/// behind it is tracked (burn would panic).
pub(crate) fn backward(loss: &Tensor<1>, what: &'static str) -> Result<Gradients> {
    if !loss.is_tracked() {
        return Err(no_gradient(what));
    }
    Ok(loss.backward())
}

/// The sum of the squared gradients of `module`'s parameters (`[1]`), `None` when no parameter
/// has a gradient: what norms over several modules add up.
pub(crate) fn squared_norm<M: Module>(module: &M, grads: &GradientsParams) -> Option<Tensor<1>> {
    struct SquaredSum<'a> {
        grads: &'a GradientsParams,
        total: Option<Tensor<1>>,
    }
    impl ModuleVisitor for SquaredSum<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(grad) = self.grads.get::<D>(param.id) {
                let squares = grad.square().sum();
                self.total = Some(match self.total.take() {
                    Some(total) => total + squares,
                    None => squares,
                });
            }
        }
    }
    let mut sum = SquaredSum { grads, total: None };
    module.visit(&mut sum);
    sum.total
}

/// PyTorch's `clip_grad_norm_` factor: `max / (norm + 1e-6)` where that is below 1, else 1.
pub(crate) fn clip_scale(norm: Tensor<1>, max: f64) -> Tensor<1> {
    norm.add_scalar(1e-6).recip().mul_scalar(max).clamp_max(1.0)
}

/// Multiplies every gradient of `module` by `scale` (a `[1]` tensor), in place.
pub(crate) fn scale_gradients<M: Module>(
    module: &M,
    grads: &mut GradientsParams,
    scale: Tensor<1>,
) {
    struct Scale<'a> {
        grads: &'a mut GradientsParams,
        scale: Tensor<1>,
    }
    impl ModuleVisitor for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(grad) = self.grads.remove::<D>(param.id) {
                let scale = self.scale.clone().unsqueeze::<D>();
                self.grads.register::<D>(param.id, grad * scale);
            }
        }
    }
    module.visit(&mut Scale { grads, scale });
}

/// The shape of every float parameter of `module`, in module-tree order: what two modules
/// must share for one to be the other's target network.
pub(crate) fn parameter_shapes<M: Module>(module: &M) -> Vec<Vec<usize>> {
    struct Shapes(Vec<Vec<usize>>);
    impl ModuleVisitor for Shapes {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.val().dims().to_vec());
        }
    }
    let mut shapes = Shapes(Vec::new());
    module.visit(&mut shapes);
    shapes.0
}

/// `target <- tau * online + (1 - tau) * target`, parameter by parameter. Parameters are
/// matched by their order in the module tree, which two modules of one type share (their ids
/// need not agree: a target network may have been built apart from the online one).
pub(crate) fn polyak_update<M: Module>(target: M, online: &M, tau: f64) -> M {
    struct Collect(Vec<Tensor<1>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let value = param.val().without_autodiff();
            let n = value.shape().num_elements();
            self.0.push(value.reshape([n]));
        }
    }
    struct Blend {
        online: std::vec::IntoIter<Tensor<1>>,
        tau: f64,
    }
    impl ModuleMapper for Blend {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let Some(online) = self.online.next() else {
                return param;
            };
            let tau = self.tau;
            param.map(|target| {
                let shape = target.shape();
                target * (1.0 - tau) + online.reshape(shape) * tau
            })
        }
    }
    let mut collect = Collect(Vec::new());
    online.visit(&mut collect);
    target.map(&mut Blend {
        online: collect.0.into_iter(),
        tau,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::MlpConfig;
    use crate::tensor_ops::to_vec_f32;

    #[test]
    fn scaling_by_max_over_norm_leaves_the_global_norm_at_max() {
        let device = crate::device::default_device().autodiff();
        let mlp = MlpConfig::new(3, 2)
            .with_hidden(vec![4])
            .init(&device)
            .unwrap();
        let x = Tensor::<2>::from_floats([[1.0, -2.0, 3.0]], &device);
        let loss = mlp.forward(x).square().sum().mul_scalar(10.0);
        let mut grads = GradientsParams::from_grads(loss.backward(), &mlp);
        let global_norm =
            |grads: &GradientsParams| to_vec_f32(squared_norm(&mlp, grads).unwrap().sqrt())[0];
        let norm = global_norm(&grads);
        assert!(
            norm > 1.0,
            "the test needs a norm above the cap, got {norm}"
        );
        let scale = Tensor::<1>::from_floats([1.0 / norm], &device.clone().without_autodiff());
        scale_gradients(&mlp, &mut grads, scale);
        let clipped = global_norm(&grads);
        assert!((clipped - 1.0).abs() < 1e-5, "{clipped}");
    }

    #[test]
    fn polyak_blends_matching_parameters() {
        let device = crate::device::default_device();
        let a = MlpConfig::new(2, 1)
            .with_hidden(vec![])
            .init(&device)
            .unwrap();
        let b = MlpConfig::new(2, 1)
            .with_hidden(vec![])
            .with_seed(5)
            .init(&device)
            .unwrap();
        let x = Tensor::<2>::from_floats([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], &device);
        let out = |m: &crate::nn::Mlp| to_vec_f32(m.forward(x.clone()));
        let blended = out(&polyak_update(a.clone(), &b, 0.25));
        for ((blend, a), b) in blended.iter().zip(out(&a)).zip(out(&b)) {
            assert!((blend - (0.75 * a + 0.25 * b)).abs() < 1e-6);
        }
    }
}
