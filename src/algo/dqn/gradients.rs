//! Global-norm gradient clipping and the target network's Polyak update: visitors over a
//! module's parameters.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

/// The global L2 norm of the gradients of `module`'s parameters, as a `[1]` tensor on the
/// gradients' device (no read-back); `None` when no parameter has a gradient.
pub(crate) fn global_norm<M: Module>(module: &M, grads: &GradientsParams) -> Option<Tensor<1>> {
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
    sum.total.map(Tensor::sqrt)
}

/// Multiplies every gradient of `module` by `scale` (a `[1]` tensor), in place.
pub(crate) fn scale_gradients<M: Module>(module: &M, grads: &mut GradientsParams, scale: Tensor<1>) {
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

/// `target <- tau * online + (1 - tau) * target`, parameter by parameter (matched by id: the
/// target network is a copy of the online one, so their ids agree).
pub(crate) fn polyak_update<M: Module>(target: M, online: &M, tau: f64) -> M {
    struct Collect(HashMap<ParamId, Tensor<1>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let value = param.val().without_autodiff();
            let n = value.shape().num_elements();
            self.0.insert(param.id, value.reshape([n]));
        }
    }
    struct Blend {
        online: HashMap<ParamId, Tensor<1>>,
        tau: f64,
    }
    impl ModuleMapper for Blend {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let Some(online) = self.online.remove(&param.id) else {
                return param;
            };
            let tau = self.tau;
            param.map(|target| {
                let shape = target.shape();
                target * (1.0 - tau) + online.reshape(shape) * tau
            })
        }
    }
    let mut collect = Collect(HashMap::new());
    online.visit(&mut collect);
    target.map(&mut Blend {
        online: collect.0,
        tau,
    })
}
