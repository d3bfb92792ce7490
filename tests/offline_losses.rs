//! ILQL's losses: hand values, and what minimising them learns.

use burn::tensor::{Tensor, TensorData};
use valuefn::Error;
use valuefn::algo::ilql::{cql_loss, expectile_loss};
use valuefn::tensor_ops::to_vec_f32;

fn t1(values: &[f32]) -> Tensor<1> {
    Tensor::from_floats(values, &valuefn::device::default_device())
}

/// The tau-expectile of `q` (the constant minimising the expectile loss), by bisection on its
/// first-order condition `sum_i |tau - 1(q_i < v)| (q_i - v) = 0` (decreasing in `v`).
fn expectile(q: &[f64], tau: f64) -> f64 {
    let condition = |v: f64| -> f64 {
        q.iter()
            .map(|&x| if x < v { 1.0 - tau } else { tau } * (x - v))
            .sum()
    };
    let (mut lo, mut hi) = (-100.0, 100.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if condition(mid) > 0.0 {
            lo = mid
        } else {
            hi = mid
        }
    }
    0.5 * (lo + hi)
}

#[test]
fn expectile_loss_hand_values_and_half_the_mse_at_one_half() {
    let v = t1(&[0.5, 1.0, -1.0]);
    let q = t1(&[1.5, 0.0, 2.0]);
    // u = (1, -1, 3): tau = 0.8 weights (0.8, 0.2, 0.8): (0.8 + 0.2 + 7.2) / 3 = 2.733333.
    let loss = to_vec_f32(expectile_loss(v.clone(), q.clone(), 0.8).unwrap())[0];
    assert!((loss - 2.733_333).abs() < 1e-5, "{loss}");
    let half = to_vec_f32(expectile_loss(v.clone(), q.clone(), 0.5).unwrap())[0];
    let mse = to_vec_f32((q - v).square().mean())[0];
    assert!((half - 0.5 * mse).abs() < 1e-6);
    for tau in [0.0, 1.0, -0.1, f64::NAN] {
        assert!(matches!(
            expectile_loss(t1(&[0.0]), t1(&[1.0]), tau),
            Err(Error::InvalidConfig { .. })
        ));
    }
    assert!(matches!(
        expectile_loss(t1(&[0.0]), t1(&[1.0, 2.0]), 0.7),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn learned_v_is_the_expectile_and_approaches_the_max_as_tau_grows() {
    // A fixed dataset of Q(s, a) for one state's logged actions; V is one trainable number.
    let data = [1.0, 2.0, 2.5, 4.0, 0.5];
    let device = valuefn::device::default_device();
    let train = device.clone().autodiff();
    let q = Tensor::<1>::from_floats(data.map(|x| x as f32), &train);
    let mean = data.iter().sum::<f64>() / data.len() as f64;
    let mut learned = Vec::new();
    for tau in [0.5, 0.9, 0.99] {
        let mut v = 0.0f32;
        for _ in 0..4000 {
            let param = Tensor::<1>::from_data(TensorData::from([v]), &train).require_grad();
            let loss = expectile_loss(param.clone().expand([data.len()]), q.clone(), tau).unwrap();
            let grads = loss.backward();
            let grad = to_vec_f32(param.grad(&grads).unwrap())[0];
            v -= 0.5 * grad;
        }
        let exact = expectile(&data, tau);
        assert!(
            (f64::from(v) - exact).abs() < 1e-3,
            "tau {tau}: {v} vs {exact}"
        );
        learned.push(f64::from(v));
    }
    assert!((learned[0] - mean).abs() < 1e-3, "tau 0.5 is the mean");
    assert!(learned[0] < learned[1] && learned[1] < learned[2]);
    // The 0.99-expectile is within 0.1 of the best logged value, 4.
    assert!(4.0 - learned[2] < 0.1 && learned[2] < 4.0, "{learned:?}");
}

#[test]
fn cql_penalty_hand_values() {
    let device = valuefn::device::default_device();
    // Row 0: log(e^1 + e^2 + e^3) - 2 = 3.407606 - 2; row 1: log(2 e^0) - 0 = 0.693147.
    let q = Tensor::<2>::from_floats([[1.0, 2.0, 3.0], [0.0, 0.0, f32::NEG_INFINITY]], &device);
    let penalty = to_vec_f32(cql_loss(q, t1(&[2.0, 0.0])).unwrap())[0];
    let want = ((3.407_606 - 2.0) + std::f64::consts::LN_2) / 2.0;
    assert!(
        (f64::from(penalty) - want).abs() < 1e-5,
        "{penalty} vs {want}"
    );
    // Large values do not overflow (the log-sum-exp is computed stably).
    let big = Tensor::<2>::from_floats([[1e4, 1e4]], &device);
    let penalty = to_vec_f32(cql_loss(big, t1(&[1e4])).unwrap())[0];
    assert!((penalty - 2f32.ln()).abs() < 1e-3);
    assert!(matches!(
        cql_loss(Tensor::<2>::zeros([2, 3], &device), t1(&[0.0])),
        Err(Error::ShapeMismatch { .. })
    ));
}
