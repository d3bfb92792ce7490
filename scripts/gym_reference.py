"""Reference trajectories of Gymnasium's classic control environments, printed as Rust.

For each case: reset `gym.make(env_id)` with a seed, record the physical state
(`env.unwrapped.state`), then step with a fixed action rule until the episode ends, recording the
action, the float32 observation and the reward of every step, whether the last step terminated
or truncated (as Gymnasium reports them: its TimeLimit sets `truncated` even on a terminating
step), and the final float64 state. The output is pasted into `tests/classic_control.rs`.

Usage (any Python with gymnasium and numpy):

    python3 -m venv /tmp/gymvenv && /tmp/gymvenv/bin/pip install gymnasium numpy
    /tmp/gymvenv/bin/python scripts/gym_reference.py > /tmp/reference.rs
"""

import gymnasium as gym
import numpy as np


def random_actions(seed, n):
    """A fixed pseudo-random action rule: the t-th action of numpy's PCG64 stream for `seed`."""
    actions = np.random.default_rng(seed).integers(0, n, size=10_000)
    return lambda state, t: int(actions[t])


def cartpole_balance(state, t):
    """Push towards the side the pole falls to: keeps CartPole up for 500 steps."""
    return int(state[2] + 0.5 * state[3] > 0)


def acrobot_pump(state, t):
    """Torque along the second joint's velocity: pumps energy in and swings up within 500 steps."""
    return 2 if state[3] > 0 else 0


def mountain_car_push(state, t):
    """Push in the direction of the velocity: reaches the goal within 200 steps."""
    return 2 if state[1] >= 0 else 0


CASES = [
    ("CARTPOLE", "CartPole-v1", [
        ("random actions, seed 0", 0, random_actions(100, 2)),
        ("random actions, seed 1", 1, random_actions(101, 2)),
        ("random actions, seed 2", 2, random_actions(102, 2)),
        ("balancing controller, seed 3", 3, cartpole_balance),
    ]),
    ("ACROBOT", "Acrobot-v1", [
        ("random actions, seed 0", 0, random_actions(200, 3)),
        ("energy pumping, seed 1", 1, acrobot_pump),
    ]),
    ("MOUNTAIN_CAR", "MountainCar-v0", [
        ("random actions, seed 0", 0, random_actions(300, 3)),
        ("push along the velocity, seed 1", 1, mountain_car_push),
    ]),
]


def f32(x):
    # Shortest decimal that reads back as the same float32.
    s = str(np.float32(x))
    return s if any(c in s for c in ".e") or s in ("inf", "-inf", "nan") else s + ".0"


def f64(x):
    return repr(float(x))


def record(env_id, seed, policy):
    env = gym.make(env_id)
    env.reset(seed=seed)
    initial = [float(x) for x in env.unwrapped.state]
    actions, observations, rewards = [], [], []
    t = 0
    while True:
        action = policy(env.unwrapped.state, t)
        obs, reward, terminated, truncated, _ = env.step(action)
        actions.append(action)
        observations.extend(float(x) for x in obs)
        rewards.append(reward)
        t += 1
        if terminated or truncated:
            final = [float(x) for x in env.unwrapped.state]
            return initial, actions, observations, rewards, terminated, truncated, final


def main():
    print(f"// gymnasium {gym.__version__}, numpy {np.__version__}")
    for const, env_id, cases in CASES:
        print(f"/// {env_id}")
        print(f"const {const}: &[Reference] = &[")
        for name, seed, policy in cases:
            initial, actions, obs, rewards, te, tr, final = record(env_id, seed, policy)
            print("    Reference {")
            print(f"        name: \"{name}\",")
            print(f"        initial_state: &[{', '.join(f64(x) for x in initial)}],")
            print(f"        actions: &[{', '.join(str(a) for a in actions)}],")
            print(f"        observations: &[{', '.join(f32(x) for x in obs)}],")
            print(f"        rewards: &[{', '.join(f64(r) for r in rewards)}],")
            print(f"        terminated: {str(te).lower()},")
            print(f"        truncated: {str(tr).lower()},")
            print(f"        final_state: &[{', '.join(f64(x) for x in final)}],")
            print("    },")
        print("];")


if __name__ == "__main__":
    main()
