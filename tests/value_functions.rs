//! Tensor-side traits on every CPU backend compiled in (one binary checks them all).

use rand::SeedableRng;
use rand::rngs::StdRng;
use valuefn::device::cpu_devices;
use valuefn::encode::OneHot;
use valuefn::env::tabular::GridWorld;
use valuefn::prelude::*;
use valuefn::tensor_ops::{index_tensor, to_indices, to_vec_f32};

#[test]
fn q_table_matches_the_exact_solution_on_every_device() {
    let grid = GridWorld::example_3_5();
    let best = value_iteration(&grid, &SolverConfig::new()).unwrap();
    for (name, device) in cpu_devices() {
        let q = QTable::from_q_values(&best.q_values, &device);
        let all: Vec<usize> = (0..25).collect();
        let states = StateIndex::new(25).encode(&all, &device).unwrap();
        let max_q = to_vec_f32(q.max_q(states.clone()).unwrap());
        for (s, (got, want)) in max_q.iter().zip(&best.values).enumerate() {
            assert!(
                (*got as f64 - want).abs() < 1e-4,
                "{name}: state {s}: {got} vs {want}"
            );
        }
        // Greedy actions are optimal actions (f32 rounding may pick another of a tie).
        let greedy = to_indices(q.greedy_actions(states.clone()).unwrap());
        for (s, a) in greedy.into_iter().enumerate() {
            assert!(
                best.q_values.best_actions(s).contains(&a),
                "{name}: state {s} action {a}"
            );
        }
        let round_trip = q.to_q_values();
        assert!(
            round_trip
                .as_slice()
                .iter()
                .zip(best.q_values.as_slice())
                .all(|(a, b)| (a - b).abs() < 1e-4)
        );
    }
}

#[test]
fn greedy_ties_go_to_the_lowest_action_on_every_device() {
    for (name, device) in cpu_devices() {
        let q = QTable::from_q_values(
            &QValues::new(2, 4, vec![1., 3., 3., 0., 2., 2., 2., 2.]).unwrap(),
            &device,
        );
        let greedy = to_indices(q.greedy_actions(index_tensor(&[0, 1], &device)).unwrap());
        assert_eq!(greedy, vec![1, 0], "{name}");
    }
}

#[test]
fn expected_q_is_the_value_of_the_policy() {
    // V^pi from Q^pi must give back v_pi: check it on Example 3.5's random policy.
    let grid = GridWorld::example_3_5();
    let random = PolicyTable::uniform(25, 4);
    let v = evaluate_policy_exact(&grid, &random, 0.9).unwrap().values;
    let q_pi = q_from_v(&grid, &v, 0.9).unwrap();
    for (name, device) in cpu_devices() {
        let q = QTable::from_q_values(&q_pi, &device);
        let pi = TabularPolicy::from_table(&random, &device);
        let states = index_tensor(&(0..25).collect::<Vec<_>>(), &device);
        let probabilities = pi.action_probabilities(states.clone()).unwrap();
        let v_from_q = to_vec_f32(q.expected_q(states, probabilities).unwrap());
        for (s, (got, want)) in v_from_q.iter().zip(&v).enumerate() {
            assert!((*got as f64 - want).abs() < 1e-4, "{name}: state {s}");
        }
    }
}

#[test]
fn v_table_reads_values_by_index() {
    for (name, device) in cpu_devices() {
        let v = VTable::from_values(&[1.5, -2.0, 0.25], &device);
        assert_eq!(
            to_vec_f32(v.values(index_tensor(&[2, 0, 0, 1], &device)).unwrap()),
            vec![0.25, 1.5, 1.5, -2.0],
            "{name}"
        );
        assert_eq!(v.to_vec(), vec![1.5, -2.0, 0.25]);
    }
}

#[test]
fn sampled_actions_follow_the_policy_probabilities() {
    let table = PolicyTable::new(1, 3, vec![0.2, 0.5, 0.3]).unwrap();
    for (name, device) in cpu_devices() {
        let pi = TabularPolicy::from_table(&table, &device);
        let mut rng = StdRng::seed_from_u64(11);
        let states = index_tensor(&[0; 10_000], &device);
        let actions = pi.sample_actions(states, &mut rng).unwrap();
        let mut counts = [0usize; 3];
        actions.iter().for_each(|&a| counts[a] += 1);
        for (a, (c, p)) in counts.iter().zip([0.2, 0.5, 0.3]).enumerate() {
            let freq = *c as f64 / 10_000.0;
            assert!((freq - p).abs() < 0.02, "{name}: action {a}: {freq}");
        }
    }
}

#[test]
fn one_hot_rows_select_table_entries() {
    // A one-hot batch times the Q matrix is the same as indexing the table.
    for (name, device) in cpu_devices() {
        let q = QTable::from_q_values(
            &QValues::new(3, 2, vec![1., 2., 3., 4., 5., 6.]).unwrap(),
            &device,
        );
        let x = OneHot::new(3).encode(&[2, 0], &device).unwrap();
        let via_matmul = to_vec_f32(x.matmul(q.tensor().clone()));
        let via_index = to_vec_f32(q.q_values(index_tensor(&[2, 0], &device)).unwrap());
        assert_eq!(via_matmul, via_index, "{name}");
    }
}
